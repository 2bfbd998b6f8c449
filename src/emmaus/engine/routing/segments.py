"""Where the ask is in a conversation: the newest user turn (its last `SCAN_CHARS` characters),
its first sentence, its final question clause, pasted material, and a bounded tail of history."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from emmaus.engine.types import Message

SCAN_CHARS = 4000
HISTORY_MESSAGES = 8
HISTORY_CHARS = 2000

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CLAUSE_END = re.compile(r"(?<=[:;])\s+|\s[\u2014\u2013]\s|\s--?\s")
_QUOTED = re.compile(r"\"[^\"]{120,}\"|\u201c[^\u201d]{120,}\u201d|'[^']{160,}'")
# A quotation inside the turn: material to work on, never the ask itself.
_QUOTATION = re.compile(
    r"\"[^\"\n]{8,}\"|\u201c[^\u201d]{8,}\u201d|(?<![\w'])'[^'\n]{8,}?'(?![\w'])|```.*?(?:```|$)",
    re.DOTALL,
)
_QUOTE_MARKS = ('"', "'", "\u201c", "`")
_SCRIPTURE_REF = re.compile(r"\b(?:[1-3] ?)?[A-Z][a-z]{1,12}\.? \d{1,3}:\d{1,3}")


@dataclass(frozen=True, slots=True)
class Turns:
    newest: str
    earlier: tuple[str, ...]  # earlier user turns, newest first (at most a few)
    assistant: str  # the assistant turn just before the newest user turn, if any


def turns(messages: Sequence[Message]) -> Turns:
    newest, earlier, assistant = "", [], ""
    seen_newest = False
    for message in reversed(messages[-HISTORY_MESSAGES:]):
        content = message.content or ""
        if message.role == "user":
            if not seen_newest:
                newest, seen_newest = content[-SCAN_CHARS:], True
            else:
                earlier.append(content[-HISTORY_CHARS:])
        elif message.role == "assistant" and seen_newest and not assistant and not earlier:
            assistant = content[-HISTORY_CHARS:]
    return Turns(newest, tuple(earlier), assistant)


@dataclass(frozen=True, slots=True)
class Segments:
    first: str  # the first sentence ("" when the turn is a single sentence)
    final: str  # the final question clause (or the final sentence)
    before_final: int  # characters before the final clause
    provided: bool  # the turn carries pasted material: a long quotation, code or a long tail


def segment(text: str) -> Segments:
    quoted = any(mark in text for mark in _QUOTE_MARKS)
    stripped = (_QUOTATION.sub(" QUOTE ", text) if quoted else text).strip()
    parts = [p for p in _SENTENCE_END.split(stripped) if p.strip()]
    if not parts:
        return Segments("", "", 0, False)
    index = len(parts) - 1
    for i in range(len(parts) - 1, max(-1, len(parts) - 4), -1):
        if "?" in parts[i]:
            index = i
            break
    final = parts[index].strip()
    clauses = [c for c in _CLAUSE_END.split(final) if c.strip()]
    if len(clauses) > 1:
        asked = [c for c in clauses if "?" in c]
        worded = [c for c in clauses if len(c.replace("QUOTE", "").split()) >= 2]
        final = (asked[-1] if asked else worded[-1] if worded else clauses[-1]).strip()
    first = parts[0].strip() if len(parts) > 1 and index > 0 else ""
    before = max(0, stripped.rfind(final))
    provided = bool(_QUOTED.search(text)) or "```" in text or _long_after_colon(text)
    return Segments(first, final, before, provided)


def _long_after_colon(text: str) -> bool:
    colon = text.find(":")
    return 0 <= colon < 200 and len(text) - colon > 600


def has_scripture_reference(text: str) -> bool:
    return bool(_SCRIPTURE_REF.search(text))
