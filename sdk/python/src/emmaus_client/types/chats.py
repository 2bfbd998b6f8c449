"""The v1 Chat & Message API as typed results (spec §2, §3): Gloo's spelling kept where a caller
meets it (`message` for the text, role `"kallm"` in histories), with timestamps parsed as UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from emmaus_client.types.completions import Safety


def v1_time(value: Any) -> datetime | None:
    """v1's naive ISO timestamps are UTC (spec §8.5)."""
    if not isinstance(value, str) or not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class MessageResponse:
    """`POST /ai/v1/message`: one exchange of a server-kept chat."""

    chat_id: str
    query_id: str
    message_id: str
    timestamp: datetime | None
    success: bool
    message: str
    model: str | None
    sources: list[dict[str, Any]]
    sources_limit: int
    suggestions: list[str]
    intent: int
    safety: Safety | None
    error: dict[str, Any] | None  # why a reply ended early (stopped), when it did
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MessageResponse:
        return cls(
            chat_id=str(data.get("chat_id", "")),
            query_id=str(data.get("query_id", "")),
            message_id=str(data.get("message_id", "")),
            timestamp=v1_time(data.get("timestamp")),
            success=bool(data.get("success", True)),
            message=str(data.get("message") or ""),
            model=data.get("model"),
            sources=list(data.get("sources") or []),
            sources_limit=int(data.get("sources_limit") or 0),
            suggestions=list(data.get("suggestions") or []),
            intent=int(data.get("intent") or 0),
            safety=Safety.from_dict(data.get("safety")),
            error=data.get("error") if isinstance(data.get("error"), dict) else None,
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class MessageDelta:
    """A piece of a streamed v1 reply."""

    text: str


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """One turn of `GET /ai/v1/chat`. `role` is `"user"` or `"kallm"` (the assistant)."""

    query_id: str | None
    message_id: str
    timestamp: datetime | None
    role: str
    message: str
    model: str | None
    sources: list[dict[str, Any]]
    suggestions: list[str]
    parent_id: str | None  # with tree=True (Emmaus)
    active: bool | None  # with tree=True (Emmaus)
    raw: dict[str, Any] = field(repr=False)

    @property
    def is_assistant(self) -> bool:
        return self.role in ("kallm", "assistant")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryMessage:
        return cls(
            query_id=data.get("query_id"),
            message_id=str(data.get("message_id", "")),
            timestamp=v1_time(data.get("timestamp")),
            role=str(data.get("role", "")),
            message=str(data.get("message") or ""),
            model=data.get("model"),
            sources=list(data.get("sources") or []),
            suggestions=list(data.get("suggestions") or []),
            parent_id=data.get("parent_id"),
            active=data.get("active"),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class ChatHistory:
    """`GET /ai/v1/chat`: a chat and its turns, oldest first."""

    chat_id: str
    user_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    title: str | None
    summary: str | None
    pin: bool
    messages: list[HistoryMessage]
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatHistory:
        return cls(
            chat_id=str(data.get("chat_id", "")),
            user_id=data.get("user_id"),
            created_at=v1_time(data.get("created_at")),
            updated_at=v1_time(data.get("updated_at")),
            title=data.get("title"),
            summary=data.get("summary"),
            pin=bool(data.get("pin", False)),
            messages=[HistoryMessage.from_dict(m) for m in data.get("messages") or ()],
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class ChatInfo:
    """A chat of `GET /ai/v1/chats` (Emmaus), without its messages."""

    chat_id: str
    title: str | None
    summary: str | None
    pin: bool
    tradition: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatInfo:
        return cls(
            chat_id=str(data.get("chat_id", "")),
            title=data.get("title"),
            summary=data.get("summary"),
            pin=bool(data.get("pin", False)),
            tradition=data.get("tradition"),
            created_at=v1_time(data.get("created_at")),
            updated_at=v1_time(data.get("updated_at")),
        )


@dataclass(frozen=True, slots=True)
class ChatPage:
    chats: list[ChatInfo]
    next_cursor: str | None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatPage:
        return cls(
            [ChatInfo.from_dict(c) for c in data.get("chats") or ()], data.get("next_cursor")
        )
