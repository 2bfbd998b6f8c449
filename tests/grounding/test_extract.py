"""Text extraction and chunking for each supported format."""

from __future__ import annotations

import itertools

import pytest

from emmaus.errors import UnsupportedDocument
from emmaus.grounding.chunking import chunk_text
from emmaus.grounding.extract import extract, kind_of, web_link
from tests.grounding.documents import BIKE_HTML, BREAD, GARDEN, STARS, pdf_bytes


def test_plain_text() -> None:
    doc = extract("notes/garden.txt", GARDEN.encode())
    assert doc.kind == "text"
    assert doc.title == "garden"
    assert "six hours of sun" in doc.text
    assert "\n\n" in doc.text  # paragraphs kept


def test_markdown_is_rendered_to_text() -> None:
    doc = extract("bread.md", BREAD.encode())
    assert doc.kind == "markdown"
    assert doc.title == "Baking sourdough bread"
    assert "**" not in doc.text and "#" not in doc.text
    assert "A sourdough starter is flour" in doc.text


def test_html_strips_tags_scripts_and_navigation() -> None:
    doc = extract("bike.html", BIKE_HTML.encode())
    assert doc.kind == "html"
    assert doc.title == "Fixing a bicycle puncture"
    assert doc.url == "https://example.org/bike-repair"
    assert "never indexed" not in doc.text and "color: red" not in doc.text
    assert "Home | About" not in doc.text
    assert "<p>" not in doc.text
    assert "find the hole by listening for air." in doc.text


def test_pdf_text_and_title() -> None:
    doc = extract("stars.pdf", pdf_bytes(STARS, "Looking at stars"))
    assert doc.kind == "pdf"
    assert doc.title == "Looking at stars"
    assert "Telescopes gather light" in " ".join(doc.text.split())


def test_kind_from_content_type_and_unsupported() -> None:
    assert kind_of("upload", "text/html; charset=utf-8") == "html"
    assert kind_of("x.PDF") == "pdf"
    with pytest.raises(UnsupportedDocument):
        extract("image.png", b"\x89PNG")
    with pytest.raises(UnsupportedDocument):
        extract("broken.pdf", b"%PDF-1.4 not really")


def test_chunks_overlap_on_sentence_boundaries() -> None:
    text = " ".join(f"Sentence {i} has exactly six words." for i in range(100))
    chunks = chunk_text(text, target_words=60, overlap_words=12)
    assert len(chunks) > 5
    for first, second in itertools.pairwise(chunks):
        assert first.text.endswith(".")
        assert second.text.startswith("Sentence")
        # the next chunk begins with the last sentences of the previous one
        tail = " ".join(first.text.split()[-12:])
        assert second.text.split(". ")[0] + "." in tail
    assert all(len(c.text.split()) <= 60 for c in chunks)
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_paragraph_break_preferred_and_long_sentences_cut() -> None:
    para = " ".join(["word"] * 40) + "."
    chunks = chunk_text(f"{para}\n\n{para}", target_words=60, overlap_words=0)
    assert len(chunks) == 2
    long = chunk_text(" ".join(["w"] * 250), target_words=100, overlap_words=0)
    assert [len(c.text.split()) for c in long] == [100, 100, 50]


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(document.cookie)",
        " JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/relative/page",
        "http://",
        "vbscript:msgbox(1)",
        "https://example.org/a b",
    ],
)
def test_only_web_links_become_citation_urls(href: str) -> None:
    page = f'<html><head><link rel="canonical" href="{href}"><title>T</title></head>x</html>'
    assert extract("page.html", page.encode()).url is None


def test_a_web_link_is_kept_and_titles_are_plain_text() -> None:
    page = (
        '<html><head><link rel="canonical" href="https://example.org/p?q=1">'
        "<title>&lt;img src=x onerror=alert(1)&gt; Grace</title></head><p>Body</p></html>"
    )
    extracted = extract("page.html", page.encode())
    assert extracted.url == "https://example.org/p?q=1"
    assert extracted.title == "<img src=x onerror=alert(1)> Grace"  # text, for the client to escape
    assert web_link("https://example.org") == "https://example.org"
