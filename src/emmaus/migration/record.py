"""The export record: one line of `emmaus migrate export`'s JSON lines file is one chat, exactly
as `GET /ai/v1/chat` returned it (Gloo's spec §3.1; Emmaus adds `safety`, and with `--tree`
`parent_id`, `active`, `status` and `head_message_id`). These models say what a valid line is;
unknown fields are allowed (a newer server may add some) and kept by the export as they came."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from emmaus.conversations.ids import parse_v1_timestamp


def _timestamp(value: str) -> str:
    try:
        parse_v1_timestamp(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO-8601 time: {value!r}") from exc
    return value


Timestamp = Annotated[str, AfterValidator(_timestamp)]
Id = Annotated[str, Field(min_length=1, max_length=40)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class UserRecord(_Record):
    role: Literal["user"]
    message_id: Id
    query_id: Id | None = None
    timestamp: Timestamp
    message: str
    character_limit: int = 0
    stream: bool = False
    intent: int = 0
    model: str | None = None
    publishers: list[str] = []
    parent_id: Id | None = None
    active: bool | None = None


class ReplyRecord(_Record):
    role: Literal["kallm", "assistant"]
    message_id: Id
    query_id: Id | None = None
    timestamp: Timestamp
    message: str
    success: bool = True
    intent: int = 0
    sources_limit: int = 0
    sources: list[dict[str, Any]] = []
    suggestions: list[str] = []
    model: str | None = None
    safety: dict[str, Any] | None = None
    parent_id: Id | None = None
    active: bool | None = None
    status: Literal["pending", "complete", "partial", "failed"] | None = None


class ChatRecord(_Record):
    chat_id: Id
    user_id: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    messages: list[Annotated[UserRecord | ReplyRecord, Field(discriminator="role")]]
    pin: bool = False
    summary: str | None = None
    title: str | None = None
    head_message_id: Id | None = None

    @property
    def is_tree(self) -> bool:
        """Exported with `tree=true`: every branch, linked by `parent_id`."""
        return any(m.active is not None for m in self.messages)


def record_time(value: str | None) -> datetime | None:
    return parse_v1_timestamp(value) if value else None
