"""A small incremental Server-Sent Events decoder working on bytes (the upstream hot path).

It follows the SSE rules that matter for chat streams: events end at a blank line, the `data:`
lines of one event are joined with newlines, comment lines (`:`) and other fields (`event:`,
`id:`, `retry:`) are skipped, and both LF and CRLF line ends are accepted."""

from __future__ import annotations


class SSEDecoder:
    __slots__ = ("_data", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[bytes]:
        """The `data` payloads of the events completed by `chunk`."""
        buffer = self._tail + chunk if self._tail else chunk
        lines = buffer.split(b"\n")
        self._tail = lines.pop()
        return self._lines(lines)

    def close(self) -> list[bytes]:
        """At the end of the body: the payload of an event left without its blank line."""
        lines = [self._tail, b""] if self._tail else [b""]
        self._tail = b""
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[bytes]:
        events: list[bytes] = []
        data = self._data
        for line in lines:
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                if data:
                    events.append(data[0] if len(data) == 1 else b"\n".join(data))
                    data.clear()
            elif line.startswith(b"data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(b" ") else value)
        return events
