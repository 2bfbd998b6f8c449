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

from bs4 import BeautifulSoup

from emmaus.errors import UnsupportedDocument

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
    url = canonical.get("href") if canonical is not None else None
    for tag in soup(_DROP_TAGS):
        tag.decompose()
    # Block elements end with a newline so paragraphs survive as blank-line-separated text.
    for block in soup.find_all(["p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr"]):
        block.append("\n\n")
    return soup.get_text(""), title, url if isinstance(url, str) else None


def _pdf_text(data: bytes) -> tuple[str, str | None]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        title = reader.metadata.title if reader.metadata else None
    except (PdfReadError, ValueError, KeyError) as exc:
        raise UnsupportedDocument(f"unreadable PDF: {exc}") from exc
    return "\n\n".join(pages), title


def extract(name: str, data: bytes, content_type: str | None = None) -> Extracted:
    """Text and title of a document named `name` (a file name or path) with bytes `data`."""
    kind = kind_of(name, content_type)
    stem = PurePath(name).stem or name
    url: str | None = None
    if kind in ("text", "markdown"):
        raw = _decode(data)
        if kind == "markdown":
            from markdown_it import MarkdownIt

            text, _, _ = _html_text(MarkdownIt().render(raw))
        else:
            text = raw
        title = _first_line(raw) if kind == "markdown" else None
    elif kind == "html":
        text, title, url = _html_text(_decode(data))
    elif kind == "pdf":
        text, title = _pdf_text(data)
    else:
        raise UnsupportedDocument(
            f"{name}: unsupported document type; use one of {', '.join(sorted(KINDS))}"
        )
    text = _tidy(text)
    return Extracted(kind, _short(title or stem) or stem, text, url)
