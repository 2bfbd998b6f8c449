"""Turn a file into plain text and a title: plain text, Markdown, HTML and PDF.

HTML is parsed with BeautifulSoup (stdlib parser), Markdown rendered with markdown-it (a
dependency of Rich) and then stripped the same way, PDF read with pypdf. Nothing is fetched:
links in documents stay text.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

from emmaus.errors import DocumentTooLarge, UnsupportedDocument
from emmaus.grounding.limits import NO_LIMITS, ExtractLimits

TEXT_TYPES = {".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown"}
HTML_TYPES = {".html": "html", ".htm": "html", ".xhtml": "html"}
PDF_TYPES = {".pdf": "pdf"}
KINDS = {**TEXT_TYPES, **HTML_TYPES, **PDF_TYPES}
_MIME = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
}
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "nav", "footer")
_BLANKS = re.compile(r"\n{3,}")
_MAX_TITLE = 300


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*?(/?)>")
# Elements that never close.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta"})
_VOID |= {"param", "source", "track", "wbr"}


def html_depth(html: str) -> int:
    """How deep the tags nest (a linear scan, before any parser sees the document)."""
    depth = deepest = 0
    for closing, name, self_closing in _TAG.findall(html):
        if closing:
            depth = max(0, depth - 1)
        elif not self_closing and name.lower() not in _VOID:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


@dataclass(frozen=True, slots=True)
class Extracted:
    kind: str
    title: str
    text: str
    url: str | None = None


def kind_of(name: str, content_type: str | None = None) -> str | None:
    """The document kind from the file extension, else from the MIME type."""
    kind = KINDS.get(PurePath(name).suffix.lower())
    if kind is None and content_type:
        kind = _MIME.get(content_type.split(";")[0].strip().lower())
    return kind


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace")


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def web_link(value: object) -> str | None:
    """`value` when it is an absolute http(s) URL, else None: a citation is only ever a web
    link (never `javascript:`, `data:` or a relative path)."""
    if not isinstance(value, str):
        return None
    link = value.strip()
    parsed = urlsplit(link)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        return None
    if any(c.isspace() or ord(c) < 32 for c in link) or len(link) > 2000:
        return None
    return link


def _short(title: str) -> str:
    title = " ".join(title.split())
    return title[:_MAX_TITLE]


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line
    return None


def _html_text(html: str) -> tuple[str, str | None, str | None]:
    soup = BeautifulSoup(html, "html.parser")
    title = None
    if soup.title and soup.title.string:
        title = soup.title.string
    elif (h1 := soup.find("h1")) is not None:
        title = h1.get_text(" ")
    canonical = soup.find("link", rel="canonical")
    url = web_link(canonical.get("href")) if canonical is not None else None
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    # Block elements end with a newline so paragraphs survive as blank-line-separated text.
    for block in soup.find_all(["p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr"]):
        block.append("\n\n")
    return soup.get_text(""), title, url if isinstance(url, str) else None


def _pdf_text(data: bytes, limits: ExtractLimits) -> tuple[str, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if len(reader.pages) > limits.max_pages:
            raise DocumentTooLarge(f"the PDF has more than {limits.max_pages} pages")
        pages, length = [], 0
        for page in reader.pages:
            contents = page.get_contents()
            # Drawing text takes a few bytes per character: a content stream that inflates far
            # past the text limit is refused before the (slow) text extraction reads it.
            if contents is not None and len(contents.get_data()) > 2 * limits.max_text_chars:
                raise DocumentTooLarge(_too_much_text(limits))
            text = page.extract_text() or ""
            length += len(text)
            if length > limits.max_text_chars:
                raise DocumentTooLarge(_too_much_text(limits))
            pages.append(text)
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnsupportedDocument(f"unreadable PDF: {exc}") from exc
    return "\n\n".join(pages), title


def _too_much_text(limits: ExtractLimits) -> str:
    return f"the document holds more than {limits.max_text_chars:,} characters of text"


def extract(
    name: str, data: bytes, content_type: str | None = None, limits: ExtractLimits = NO_LIMITS
) -> Extracted:
    """Text and title of a document named `name` (a file name or path) with bytes `data`.
    Raises `DocumentTooLarge` past `limits` (uploads run this in `sandbox`, bounded)."""
    kind = kind_of(name, content_type)
    stem = PurePath(name).stem or name
    url: str | None = None
    if kind in ("text", "markdown", "html") and len(data) > 4 * limits.max_text_chars:
        raise DocumentTooLarge(_too_much_text(limits))
    if kind in ("text", "markdown"):
        raw = _decode(data)
        if kind == "markdown":
            from markdown_it import MarkdownIt

            text, _, _ = _html_text(MarkdownIt().render(raw))
        else:
            text = raw
        title = _first_line(raw) if kind == "markdown" else None
    elif kind == "html":
        html = _decode(data)
        if html_depth(html) > limits.max_html_depth:
            raise DocumentTooLarge(f"the HTML nests deeper than {limits.max_html_depth} tags")
        text, title, url = _html_text(html)
    elif kind == "pdf":
        text, title = _pdf_text(data, limits)
    else:
        raise UnsupportedDocument(
            f"{name}: unsupported document type; use one of {', '.join(sorted(KINDS))}"
        )
    if len(text) > limits.max_text_chars:
        raise DocumentTooLarge(_too_much_text(limits))
    # NUL cannot be stored in PostgreSQL text, and means nothing in prose: drop it.
    text = _tidy(text.replace("\x00", ""))
    title = (title or "").replace("\x00", "")
    stem = stem.replace("\x00", "")
    return Extracted(kind, _short(title or stem) or stem, text, url)
