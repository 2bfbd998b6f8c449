"""Incremental text handling for streamed generation: UTF-8 pieces to text, and markers (stop
strings, the tool-call trigger) that may span tokens and must never leak into the output."""

from __future__ import annotations

import codecs
from collections.abc import Sequence


class Utf8Pieces:
    """Token pieces are bytes and may split a multi-byte character: decode incrementally."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, piece: bytes) -> str:
        return self._decoder.decode(piece)

    def flush(self) -> str:
        return self._decoder.decode(b"", final=True)


class MarkerScanner:
    """Finds the first of several markers in text fed piece by piece. Text that could still be the
    start of a marker is held back, so what `feed` releases never contains any part of one."""

    def __init__(self, markers: Sequence[str]) -> None:
        self._markers = [m for m in markers if m]
        self._pending = ""
        self.hit: str | None = None

    def feed(self, text: str) -> str:
        """Text safe to emit now. After a marker is found (`hit` set), returns the text before
        it and nothing ever again."""
        if self.hit is not None:
            return ""
        pending = self._pending + text
        if not self._markers:
            self._pending = ""
            return pending
        first: tuple[int, str] | None = None
        for marker in self._markers:
            index = pending.find(marker)
            if index >= 0 and (first is None or index < first[0]):
                first = (index, marker)
        if first is not None:
            self.hit = first[1]
            self._pending = ""
            return pending[: first[0]]
        hold = self._held_suffix(pending)
        self._pending = pending[len(pending) - hold :] if hold else ""
        return pending[: len(pending) - hold]

    def flush(self) -> str:
        """At the end of generation: whatever was held back is plain text after all."""
        if self.hit is not None:
            return ""
        rest, self._pending = self._pending, ""
        return rest

    def _held_suffix(self, text: str) -> int:
        longest = 0
        for marker in self._markers:
            for size in range(min(len(marker) - 1, len(text)), longest, -1):
                if text.endswith(marker[:size]):
                    longest = size
                    break
        return longest
