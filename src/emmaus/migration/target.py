"""Where chats are imported to: Emmaus' own store (`store.StoreTarget`) or the SDK's
client-managed database. Both import a `SourceChat` idempotently and read a chat back for
`verify`, keyed by the source id recorded with every chat and message."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from emmaus.migration.source import SourceChat, content_hash

CREATED, APPENDED, UNCHANGED, CONFLICT = "created", "appended", "unchanged", "conflict"


@dataclass(slots=True)
class ImportOutcome:
    status: str  # created | appended | unchanged | conflict
    chat_id: str | None  # the stored chat's id
    added: int = 0  # messages written (or, dry run, that would be)
    detail: str | None = None  # a conflict's reason


@dataclass(slots=True)
class StoredMessage:
    id: str  # the target's id
    source_id: str | None  # None: written there, not imported
    parent: str | None  # the parent's source id (or target id when it has none)
    role: str
    content: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.role, self.content)


@dataclass(slots=True)
class StoredChat:
    chat_id: str
    messages: list[StoredMessage]  # in the target's order
    active: list[str] = field(default_factory=list)  # source ids, root to the active leaf


class Target(Protocol):
    async def import_chat(
        self, chat: SourceChat, *, dry_run: bool = False, append: bool = True
    ) -> ImportOutcome: ...

    async def stored_chat(self, chat: SourceChat) -> StoredChat | None: ...

    async def aclose(self) -> None: ...


def query_ids(
    chat: SourceChat, new_id: Callable[[], str], known: Mapping[str, str | None] | None = None
) -> dict[str, str | None]:
    """Each message's query id: the stored one (`known`, by source id), else the source's;
    else a question gets a new one and a reply takes its question's (the nearest user message
    above it)."""
    known = known or {}
    by_id = {m.source_id: m for m in chat.messages}
    found: dict[str, str | None] = {}
    for message in chat.messages:  # parents come first
        if message.source_id in known:
            found[message.source_id] = known[message.source_id]
        elif message.query_id:
            found[message.source_id] = message.query_id
        elif message.role == "user":
            found[message.source_id] = new_id()
        elif message.role == "assistant":
            at = by_id.get(message.parent) if message.parent else None
            while at is not None and at.role != "user":
                at = by_id.get(at.parent) if at.parent else None
            found[message.source_id] = found.get(at.source_id) if at else None
        else:
            found[message.source_id] = None
    return found
