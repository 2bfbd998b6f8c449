"""What every source format is read into: a chat as a tree of messages, each with the id it had
in its source, parents before children, and the leaf of the branch that was active there.

Readers (`emmaus.migration.readers`) produce these; the importers write them and `verify`
compares them with what was stored. Nothing here knows a file format or a database."""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

from emmaus.conversations.schema import COMPLETE

FORMATS = ("v1", "chatgpt", "openwebui", "assistants")


class SourceError(ValueError):
    """A record that cannot be read as a chat of its format (the message says where)."""


@dataclass(slots=True)
class SourceMessage:
    source_id: str  # the message's id in its source (a v1 message_id, a ChatGPT node id, ...)
    parent: str | None  # source id of the nearest kept ancestor; None at the root
    role: str  # system | user | assistant
    content: str
    created_at: datetime | None = None
    status: str = COMPLETE
    query_id: str | None = None  # v1: kept; other formats: derived from the question
    model: str | None = None
    sources: list[dict[str, Any]] | None = None
    suggestions: list[str] | None = None
    meta: dict[str, Any] | None = None
    keep_id: bool = False  # v1: the stored message gets `source_id` as its id

    @property
    def content_hash(self) -> str:
        return content_hash(self.role, self.content)


@dataclass(slots=True)
class SourceChat:
    format: str  # one of FORMATS
    source_id: str  # the chat's id in its source
    messages: list[SourceMessage]  # parents before children, oldest first where times allow
    active_leaf: str | None = None  # source id of the active branch's last message
    title: str | None = None
    summary: str | None = None
    pin: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    keep_id: bool = False  # v1: the stored chat gets `source_id` as its id
    skipped: list[str] = field(default_factory=list)  # what was left out, and why
    problems: list[str] = field(default_factory=list)  # structure repaired on reading

    @property
    def key(self) -> str:
        """The source id recorded on the stored chat: unique per format."""
        return f"{self.format}:{self.source_id}"

    @property
    def leaf(self) -> str | None:
        """The active leaf, or the last message when the source named none."""
        return self.active_leaf or (self.messages[-1].source_id if self.messages else None)

    def active_branch(self) -> list[SourceMessage]:
        """The messages from the root down to the active leaf."""
        by_id = {m.source_id: m for m in self.messages}
        path: list[SourceMessage] = []
        at = self.leaf
        while at is not None and at in by_id and len(path) <= len(by_id):
            path.append(by_id[at])
            at = by_id[at].parent
        return path[::-1]


def content_hash(role: str, content: str) -> str:
    """What `verify` compares per message: its role and exact text."""
    return sha256(json.dumps([role, content], ensure_ascii=False).encode()).hexdigest()[:16]


def from_epoch(value: Any) -> datetime | None:
    """Seconds (or, past year 33658, milliseconds) since the epoch, as exports write them."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    seconds = value / 1000 if value > 1e12 else value
    return datetime.fromtimestamp(seconds, UTC)


def topological(messages: list[SourceMessage]) -> list[SourceMessage]:
    """Oldest first, a parent always before its children (messages without a time keep their
    place after their parent). A parent that is not in the list makes the message a root."""
    known = {m.source_id for m in messages}
    children: dict[str | None, list[int]] = {}
    for index, message in enumerate(messages):
        parent = message.parent if message.parent in known else None
        children.setdefault(parent, []).append(index)

    def key(index: int) -> tuple[float, int]:
        moment = messages[index].created_at
        return (moment.timestamp() if moment else float("-inf"), index)

    ready = [(key(i), i) for i in children.get(None, [])]
    heapq.heapify(ready)
    ordered: list[SourceMessage] = []
    while ready:
        _, index = heapq.heappop(ready)
        message = messages[index]
        ordered.append(message)
        for child in children.get(message.source_id, []):
            heapq.heappush(ready, (key(child), child))
    return ordered
