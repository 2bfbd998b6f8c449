"""Rubric-driven augmentation for the conversational features: labelled multi-turn data is
scarce, but two rubric rules hold for any task — a thank-you after it is tier 1, and "keep
going" inside it keeps its tier. A share of the single-turn rows of tier 2 and 3 (chosen by a
hash of their id, so it is deterministic) gets one such synthetic continuation each."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from emmaus.engine.routing.data import LabelledRow
from emmaus.engine.types import Message

SEPARATOR = "#aug-"

_ACKNOWLEDGEMENTS = (
    "thanks!",
    "thank you, that's great",
    "perfect, thanks",
    "ok got it",
    "great, appreciate it",
    "awesome, that works",
    "cheers",
    "that helps a lot, thank you",
    "ok cool",
    "brilliant, thanks so much",
    "amazing, thank you!",
    "got it, thanks a lot",
)
_CONTINUATIONS = (
    "and the next step?",
    "keep going",
    "now the next part",
    "can you continue?",
    "what about the rest?",
    "ok, now do the same for the second one",
    "go on",
    "and then?",
    "more detail on the second point please",
    "next one please",
    "ok done. what's next?",
    "can you expand that part?",
)
_ANSWER = "Here is a first answer to that, with the main points set out in order. "


def source_id(row_id: str) -> str:
    """The id of the row an augmented row was made from (the id itself for real rows)."""
    return row_id.split(SEPARATOR, 1)[0]


def is_augmented(row: LabelledRow) -> bool:
    return SEPARATOR in row.id


def augment(rows: Sequence[LabelledRow], share: float = 0.3) -> list[LabelledRow]:
    """Synthetic continuations for about `share` of the single-turn tier 2/3 rows (each)."""
    out: list[LabelledRow] = []
    threshold = int(share * 1000)
    for row in rows:
        users = [m for m in row.messages if m.role == "user"]
        if len(users) != 1 or row.tier == 1:
            continue
        digest = zlib.crc32(row.id.encode())
        answer = Message("assistant", _answer(row))
        if digest % 1000 < threshold:
            text = _ACKNOWLEDGEMENTS[(digest >> 10) % len(_ACKNOWLEDGEMENTS)]
            out.append(_variant(row, "ack", answer, text, 1))
        if (digest >> 4) % 1000 < threshold:
            text = _CONTINUATIONS[(digest >> 14) % len(_CONTINUATIONS)]
            out.append(_variant(row, "next", answer, text, row.tier))
    return out


def _answer(row: LabelledRow) -> str:
    length = 700 if row.tier == 2 else 2400
    body = (_ANSWER * (length // len(_ANSWER) + 1))[:length]
    query = row.query.lower()
    if row.tier == 3 and ("code" in query or "function" in query or "```" in query):
        body = "```\n" + body[:400] + "\n```\n" + body[400:]
    return body


def _variant(row: LabelledRow, kind: str, answer: Message, text: str, tier: int) -> LabelledRow:
    messages = (*row.messages, answer, Message("user", text))
    return LabelledRow(f"{row.id}{SEPARATOR}{kind}", messages, tier, f"augmented {kind}")
