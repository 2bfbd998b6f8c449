"""Split text into overlapping chunks along paragraph and sentence boundaries.

A chunk is a run of whole sentences of about `target_words` words; the next chunk starts with the
last sentences of the previous one (about `overlap_words`), so a passage that straddles a boundary
is still retrievable as a whole. A paragraph break is preferred as a chunk boundary once a chunk is
at least half full. Sentences longer than a chunk are cut at word boundaries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPHS = re.compile(r"\n\s*\n+")
# End of a sentence: terminal punctuation (optionally closing quotes/brackets) then whitespace.
_SENTENCE_END = re.compile("(?:(?<=[.!?;])|(?<=[.!?;][\"'\u201d\u2019)\\]]))\\s+")
_TOKENS = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True, slots=True)
class Chunk:
    position: int
    text: str
    token_count: int


def token_estimate(text: str) -> int:
    """Words and punctuation marks: within ~20% of a WordPiece count for English prose."""
    return len(_TOKENS.findall(text))


def _sentences(paragraph: str) -> list[str]:
    flat = " ".join(paragraph.split())
    return [s.strip() for s in _SENTENCE_END.split(flat) if s.strip()]


def _units(text: str, max_words: int) -> list[tuple[str, int, bool]]:
    """(sentence, words, starts_paragraph), long sentences cut into pieces of `max_words`."""
    units: list[tuple[str, int, bool]] = []
    for paragraph in _PARAGRAPHS.split(text):
        first = True
        for sentence in _sentences(paragraph):
            words = sentence.split()
            for start in range(0, len(words), max_words):
                piece = words[start : start + max_words]
                units.append((" ".join(piece), len(piece), first))
                first = False
    return units


def chunk_text(text: str, target_words: int = 110, overlap_words: int = 20) -> list[Chunk]:
    if target_words < 10 or not 0 <= overlap_words < target_words // 2:
        raise ValueError("need target_words >= 10 and 0 <= overlap_words < target_words / 2")
    units = _units(text, target_words)
    chunks: list[Chunk] = []
    current: list[tuple[str, int, bool]] = []
    size = 0
    fresh = 0  # words in `current` that no earlier chunk holds

    def emit() -> None:
        body = " ".join(u[0] for u in current)
        chunks.append(Chunk(len(chunks), body, token_estimate(body)))

    for unit in units:
        _, words, new_paragraph = unit
        full = size + words > target_words
        paragraph_break = new_paragraph and size >= target_words // 2
        if current and fresh and (full or paragraph_break):
            emit()
            # Carry whole trailing sentences, up to the overlap, into the next chunk.
            kept: list[tuple[str, int, bool]] = []
            kept_words = 0
            for previous in reversed(current):
                if kept_words + previous[1] > overlap_words:
                    break
                kept.insert(0, previous)
                kept_words += previous[1]
            current, size = kept, kept_words
            fresh = 0
        current.append(unit)
        size += words
        fresh += words
    if current and fresh:
        emit()
    return chunks
