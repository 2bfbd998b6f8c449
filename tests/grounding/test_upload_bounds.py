"""What an upload may cost: files that inflate (a PDF whose compressed stream holds megabytes of
text, HTML nested thousands deep, megabytes of prose) are refused within their bounds by the
child process that reads them, and a client's library has a quota. SQLite and PostgreSQL."""

from __future__ import annotations

import time
import zlib

import pytest

from emmaus.errors import DocumentTooLarge, LibraryQuotaExceeded, UnsupportedDocument
from emmaus.grounding.embedder import Embedder
from emmaus.grounding.library import Library
from emmaus.grounding.limits import ExtractLimits, IngestLimits, LibraryQuota
from emmaus.grounding.sandbox import read_upload
from emmaus.store import Database
from tests.grounding.conftest import add_client

TIGHT = IngestLimits(
    cpu_seconds=5,
    memory_bytes=512 << 20,
    wall_seconds=10,
    max_chunks=50,
    extract=ExtractLimits(max_text_chars=200_000, max_pages=20, max_html_depth=128),
)


def inflating_pdf(text_bytes: int) -> bytes:
    """A small PDF (one page) whose content stream inflates to `text_bytes` of text drawing."""
    line = b"BT /F1 12 Tf 72 720 Td (Grace upon grace, the Word made flesh.) Tj ET\n"
    stream = zlib.compress(line * (text_bytes // len(line)), 9)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out


async def test_a_pdf_that_inflates_is_refused_within_bounds() -> None:
    bomb = inflating_pdf(4 << 20)
    assert len(bomb) < 64 * 1024  # small on the wire
    started = time.monotonic()
    with pytest.raises(DocumentTooLarge):
        await read_upload("bomb.pdf", bomb, "application/pdf", TIGHT)
    assert time.monotonic() - started < TIGHT.wall_seconds + 2


async def test_deeply_nested_html_is_refused_before_parsing() -> None:
    nested = b"<div>" * 20_000 + b"deep" + b"</div>" * 20_000  # 220 KB, 20,000 deep
    with pytest.raises(DocumentTooLarge, match="nests deeper"):
        await read_upload("nested.html", nested, "text/html", TIGHT)


async def test_too_much_prose_is_refused() -> None:
    prose = b"In the beginning was the Word. " * 40_000  # 1.2 MB of text
    with pytest.raises(DocumentTooLarge, match="characters"):
        await read_upload("prose.txt", prose, "text/plain", TIGHT)


async def test_a_wall_clock_limit_stops_a_slow_read() -> None:
    slow = IngestLimits(cpu_seconds=60, wall_seconds=0.01, extract=TIGHT.extract)
    with pytest.raises(DocumentTooLarge, match="longer than"):
        await read_upload("a.txt", b"hello " * 1000, "text/plain", slow)


async def test_an_ordinary_file_reads_as_before_and_errors_stay_clear() -> None:
    read = await read_upload("note.md", b"# Grace\n\nA gift.", None, TIGHT)
    assert (read.kind, read.title, read.text) == ("markdown", "Grace", "Grace\n\nA gift.")
    with pytest.raises(UnsupportedDocument):
        await read_upload("bad.pdf", b"%PDF-1.4 not really", None, TIGHT)


async def test_the_library_enforces_chunks_and_quota(
    database: Database, embedder: Embedder
) -> None:
    owner = await add_client(database, "quota-client")
    quota = LibraryQuota(max_documents=2, max_bytes=10_000, max_chunks=20)
    library = Library(database, embedder, limits=TIGHT, quota=quota)
    publisher = await library.publisher("Mine", owner, create=True)
    assert publisher is not None
    await library.ingest(publisher, "a.txt", b"Grace and peace to you. " * 10)
    await library.ingest(publisher, "b.txt", b"The Lord is my shepherd. " * 10)
    with pytest.raises(LibraryQuotaExceeded, match="documents"):
        await library.ingest(publisher, "c.txt", b"A third one. " * 10)
    # Replacing a document frees what it replaces: still within the quota.
    await library.ingest(publisher, "a.txt", b"Grace, mercy and peace. " * 10)
    assert (await library.usage(owner))[0] == 2
    many = ". ".join(f"Sentence number {n} about faith and hope" for n in range(3000)).encode()
    with pytest.raises(DocumentTooLarge, match="chunks"):
        await Library(database, embedder, limits=TIGHT).ingest(publisher, "long.txt", many)
