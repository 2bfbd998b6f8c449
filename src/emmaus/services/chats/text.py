"""`character_limit`: a hard cap on the v1 `message`, cut at a sentence boundary when one keeps
at least half the allowance, else at a word boundary, else exactly at the limit."""

from __future__ import annotations

import re

# A sentence ends with . ! ? or … (possibly closed by quotes/brackets) followed by white space.
_SENTENCE_END = re.compile(r"[.!?…][\"'\u201d\u2019)\]]*(?=\s)")
_SPACE = re.compile(r"\s")


def sentence_cut(text: str, limit: int) -> int:
    """The end of the last whole sentence within `limit` characters (0 if none). A sentence
    ends only where white space follows, so a stream's last piece is never taken as one."""
    best = 0
    for match in _SENTENCE_END.finditer(text[: limit + 1]):
        best = match.end()
    return best


def cap_text(text: str, limit: int | None) -> str:
    """`text` cut to at most `limit` characters (no limit when `limit` is None or 0)."""
    if not limit or len(text) <= limit:
        return text
    sentence = sentence_cut(text, limit)
    if sentence >= limit // 2:
        return text[:sentence]
    spaces = [m.start() for m in _SPACE.finditer(text[: limit + 1])]
    if spaces and text[: spaces[-1]].strip():
        return text[: spaces[-1]].rstrip()
    return text[:limit]


def limit_instruction(limit: int | None) -> str | None:
    """What the model is told, so the cap rarely has to cut."""
    if not limit:
        return None
    return (
        f"Keep your whole answer under {limit} characters"
        f" (about {max(1, limit // 6)} words); finish your last sentence."
    )


class StreamCap:
    """Streams text under a `character_limit` so that the pieces sent always add up to a prefix
    of the final, capped message: text is released only up to the last sentence end that
    fits, and `finish` releases the rest of the cut. Without a limit text flows through."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit or None
        self.text = ""
        self.sent = 0

    @property
    def full(self) -> bool:
        """The model has written past the limit: nothing more can be used."""
        return self.limit is not None and len(self.text) > self.limit

    def feed(self, piece: str) -> str:
        """Add generated text; returns what may be sent now."""
        self.text += piece
        if self.limit is None:
            out, self.sent = self.text[self.sent :], len(self.text)
            return out
        safe = sentence_cut(self.text, self.limit)
        if safe <= self.sent:
            return ""
        out, self.sent = self.text[self.sent : safe], safe
        return out

    def finish(self) -> tuple[str, str]:
        """(what is left to send, the final message)."""
        final = cap_text(self.text, self.limit)
        if not final.startswith(self.text[: self.sent]):  # pragma: no cover - by construction
            final = self.text[: self.sent]
        out = final[self.sent :]
        self.sent = len(final)
        return out, final
