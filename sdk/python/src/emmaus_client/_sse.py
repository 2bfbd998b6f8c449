"""Server-sent events from a response's lines: `(event, data)` pairs, `data` already decoded
from JSON (`[DONE]` ends the stream; Gloo never sends it, Emmaus does: both are fine)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

DONE = "[DONE]"


@dataclass(slots=True)
class _Event:
    name: str | None = None
    data: list[str] = field(default_factory=list)

    def take(self) -> tuple[str | None, Any] | None:
        if not self.data:
            self.name = None
            return None
        text = "\n".join(self.data)
        name = self.name
        self.name, self.data = None, []
        if text.strip() == DONE:
            return name, DONE
        return name, json.loads(text)


def _feed(event: _Event, line: str) -> tuple[str | None, Any] | None:
    if not line:
        return event.take()
    if line.startswith(":"):
        return None
    key, _, value = line.partition(":")
    value = value.removeprefix(" ")
    if key == "data":
        event.data.append(value)
    elif key == "event":
        event.name = value
    return None


def iter_events(lines: Iterable[str]) -> Iterator[tuple[str | None, Any]]:
    event = _Event()
    for line in lines:
        if (item := _feed(event, line.rstrip("\r"))) is not None:
            if item[1] == DONE:
                return
            yield item
    if (item := event.take()) is not None and item[1] != DONE:
        yield item


async def aiter_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str | None, Any]]:
    event = _Event()
    async for line in lines:
        if (item := _feed(event, line.rstrip("\r"))) is not None:
            if item[1] == DONE:
                return
            yield item
    if (item := event.take()) is not None and item[1] != DONE:
        yield item
