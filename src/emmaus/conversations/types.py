"""Domain types of the conversation store. The v1 wire shapes are built from these in the API
layer; nothing here knows about HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL, PENDING


@dataclass(slots=True)
class Chat:
    id: str
    client_id: str
    user_id: str
    title: str | None
    summary: str | None
    pin: bool
    tradition: str | None
    head_message_id: str | None
    last_seq: int
    branched: bool
    created_at: datetime
    updated_at: datetime
    origin: str | None = None  # v1 (None), "conversation" or "response": the API that made it
    conversation_metadata: dict[str, str] | None = None


@dataclass(slots=True)
class StoredMessage:
    id: str
    chat_id: str
    seq: int
    parent_id: str | None
    query_id: str | None
    role: str  # system | user | assistant | tool
    content: str
    token_count: int
    status: str  # pending | complete | partial | failed
    created_at: datetime
    updated_at: datetime
    model: str | None = None
    provider: str | None = None
    routing_mechanism: str | None = None
    routing_tier: str | None = None
    routing_confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    sources: list[dict[str, Any]] | None = None
    suggestions: list[str] | None = None
    meta: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    lease_owner: str | None = None  # the instance answering it, while pending

    @property
    def settled(self) -> bool:
        return self.status != PENDING

    @property
    def usable_in_context(self) -> bool:
        """Pending placeholders and failed replies say nothing; partial text was seen, keep it."""
        return self.status in (COMPLETE, PARTIAL) and (bool(self.content) or bool(self.tool_calls))

    @property
    def failed(self) -> bool:
        return self.status == FAILED


@dataclass(slots=True)
class NewMessage:
    """A message to write. `token_count` is counted by the caller at write time."""

    role: str
    content: str
    token_count: int
    query_id: str | None = None
    status: str = COMPLETE
    meta: dict[str, Any] | None = None
    model: str | None = None
    provider: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    sources: list[dict[str, Any]] | None = None
    suggestions: list[str] | None = None
    created_at: datetime | None = None  # imports keep the original time; else now
    id: str | None = None  # imports keep the original message id; else a new one
    lease_owner: str | None = None  # a placeholder: the instance that will answer it


@dataclass(slots=True)
class ReplyUpdate:
    """How a reply placeholder ends: its text, status and everything learned producing it."""

    content: str
    status: str
    token_count: int
    model: str | None = None
    provider: str | None = None
    routing_mechanism: str | None = None
    routing_tier: str | None = None
    routing_confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] | None = None
    sources: list[dict[str, Any]] | None = None
    suggestions: list[str] | None = None
    meta: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


@dataclass(slots=True)
class Turn:
    """A user turn committed with the placeholder of its reply (seq + 1)."""

    chat: Chat
    user: StoredMessage
    reply: StoredMessage
    created_chat: bool = False
    preloaded: Preloaded | None = None  # the context's first read, when it was asked for


@dataclass(slots=True)
class Replay:
    """An `Idempotency-Key` seen before: the turn it answered."""

    chat_id: str
    query_id: str
    fingerprint: str
    created_at: datetime


@dataclass(slots=True)
class Summary:
    id: str
    chat_id: str
    from_seq: int
    to_seq: int
    first_message_id: str
    last_message_id: str
    message_count: int
    content: str
    token_count: int
    model: str | None
    created_at: datetime


@dataclass(slots=True)
class ChatPage:
    chats: list[Chat]
    next_cursor: str | None = None


@dataclass(slots=True)
class ContextWindow:
    """What the context builder chose: messages oldest first, ready for the engine."""

    messages: list[Any]  # engine Message objects
    tokens: int
    kept: int  # stored messages included
    summary: Summary | None = None
    truncated: bool = False  # older turns were left out and no summary covers them
    unsummarised_tokens: int = 0  # tokens on the branch since the last summary (as far as seen)
    turns: list[StoredMessage] = field(default_factory=list)  # the stored messages kept
    budget: int = 0


@dataclass(slots=True)
class Siblings:
    """The alternatives at one point of the tree: messages with the same parent and role (a
    question and its edits, or a reply and its regenerations), oldest first."""

    message: StoredMessage  # the one asked about
    messages: list[StoredMessage]  # every sibling, `message` included
    active_id: str | None  # the sibling on the active branch (None: this fork is off it)

    @property
    def position(self) -> int:
        """1-based place of `message` among its siblings."""
        return next(i for i, m in enumerate(self.messages, 1) if m.id == self.message.id)


@dataclass(slots=True)
class ChatTree:
    """Every message of a chat, every branch, in seq order, and which are on the active one."""

    chat: Chat
    messages: list[StoredMessage]
    active: set[str]


@dataclass(slots=True)
class Preloaded:
    """The first read of a context, done by the transaction that wrote the turn (one round trip
    fewer): the chat's newest summaries and `first_page(budget)` rows before the reply, newest
    first."""

    summaries: list[Summary]
    rows: list[StoredMessage]
