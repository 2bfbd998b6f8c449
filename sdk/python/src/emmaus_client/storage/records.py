"""What the storage layer hands out and takes in: plain frozen dataclasses, no ORM objects, so
they cross threads, tasks and JSON freely."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any


class _Active(Enum):
    ACTIVE = "active"


ACTIVE = _Active.ACTIVE
"""`parent_id=ACTIVE` (the default): the new message continues the active branch (the
previous message of the same batch, or the conversation's head for the first one)."""

# Roles the storage keeps; v1's "kallm" is stored as "assistant".
ROLES = frozenset({"system", "user", "assistant", "tool"})


def estimate_tokens(text: str) -> int:
    """A model-independent estimate (about four characters a token, plus the few tokens a
    message's role costs), used when no real count was recorded."""
    return math.ceil(len(text) / 4) + 4


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime (SQLite hands back naive ones)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    user_id: str
    title: str | None
    tradition: str | None
    model: str | None
    summary: str | None
    summary_through_id: str | None
    head_message_id: str | None
    source_id: str | None
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: str
    conversation_id: str
    seq: int
    parent_id: str | None
    role: str
    content: str
    tokens_used: int
    model: str | None
    source_id: str | None
    meta: dict[str, Any]
    created_at: datetime


@dataclass(slots=True)
class NewMessage:
    """A message to add. `id` may be chosen by the caller (an importer linking a tree before
    writing it); `parent_id` is `ACTIVE`, None (a root) or the id of a stored message or of an
    earlier message of the same batch."""

    role: str
    content: str
    tokens_used: int | None = None
    model: str | None = None
    id: str | None = None
    parent_id: str | _Active | None = ACTIVE
    source_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """What to send a model: `messages` in the wire's `{"role", "content"}` shape (system
    first, then the summary, then the newest turns that fit), and how it was assembled."""

    messages: list[dict[str, str]]
    tokens: int
    kept: int  # stored messages included
    dropped: int  # older messages left out (not covered by the summary either)
    summarized: int  # messages the summary stands for
    budget: int
    pending_tokens: int = 0  # tokens of every message after the summary, kept or dropped


class StorageError(Exception):
    """Base of the storage layer's errors."""


class ConversationNotFound(StorageError, LookupError):
    pass


class MessageNotFound(StorageError, LookupError):
    pass


class DuplicateSource(StorageError):
    """A conversation (or a message of the conversation) with this `source_id` is already
    stored: an importer that sees it has imported that item before."""

    def __init__(self, source_id: str) -> None:
        super().__init__(f"source_id {source_id!r} is already stored")
        self.source_id = source_id
