"""Wire schemas of the v1 Chat & Message API, as Gloo's contract spells them (spec §2, §3):
role `"kallm"`, text in `message`, ids `c…`/`q…`/`m…`/`u…`, naive ISO timestamps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from emmaus.api.common.schemas import SafetyOut
from emmaus.conversations.schema import COMPLETE
from emmaus.conversations.types import Chat, StoredMessage
from emmaus.engine.traditions import Tradition
from emmaus.services.chats.types import TurnResult

Flag = Literal[0, 1]
ModelFamily = Literal["openai", "anthropic", "google", "open source"]
MAX_QUERY_CHARS = 100_000
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it up front (422, not 500)


def v1_timestamp(moment: datetime) -> str:
    """`2025-07-14T18:29:42.060759`: UTC, microseconds, no zone suffix (spec §8.5)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def _no_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


class MessageRequest(BaseModel):
    """POST /ai/v1/message body. `chat_id`, `intent`, `enable_sources` and `enable_suggestions`
    may come in the query string instead (it wins when both are given)."""

    model_config = ConfigDict(extra="ignore")

    query: Text = Field(min_length=1, max_length=MAX_QUERY_CHARS, description="The user's prompt")
    chat_id: Text | None = Field(
        default=None, max_length=200, description="Chat to continue; none starts one"
    )
    character_limit: int | None = Field(
        default=None, ge=0, le=2**31 - 1, description="Hard cap on the reply's characters (0: none)"
    )
    sources_limit: int | None = Field(default=None, ge=0, le=10)
    stream: bool = False
    publishers: list[Text] = Field(default_factory=list, max_length=100)
    enable_suggestions: Flag | None = None
    enable_sources: Literal[0, 1, 2] | None = Field(
        default=None, description="0 off, 1 when the prompt needs them (default), 2 always"
    )
    intent: Flag | None = Field(default=None, description="1: needs sources, 0: does not")
    tradition: Tradition | None = Field(
        default=None, description="Emmaus extension: theological perspective"
    )
    model: Text | None = Field(
        default=None, max_length=200, description="Emmaus: a catalog model (no auto-routing)"
    )
    model_family: ModelFamily | None = Field(
        default=None, description="Emmaus: the best model of a family (no auto-routing)"
    )

    @model_validator(mode="after")
    def _one_routing(self) -> MessageRequest:
        if self.model and self.model_family:
            raise ValueError("give model or model_family, not both")
        return self


class SourceItem(BaseModel):
    item_id: str
    item_title: str | None = None
    publisher: str | None = None
    url: str | None = None
    snippet: str | None = None
    score: float | None = None


class MessageResponse(BaseModel):
    chat_id: str
    query_id: str
    message_id: str
    timestamp: str
    success: bool
    message: str
    model: str | None
    sources: list[SourceItem | dict[str, Any]]
    sources_limit: int
    suggestions: list[str]
    intent: int
    safety: SafetyOut | None = Field(
        default=None, description="Emmaus: what the safety layer did with this turn"
    )


class KallmResponse(BaseModel):
    query_id: str
    message_id: str
    message: str
    timestamp: str


class UserTurn(BaseModel):
    query_id: str | None
    message_id: str
    timestamp: str
    role: Literal["user"]
    character_limit: int
    stream: bool
    intent: int
    message: str
    model: str | None
    publishers: list[str]
    safety: SafetyOut | None = None  # the verdict on this question (Emmaus)
    parent_id: str | None = Field(default=None, description="With tree=true (Emmaus)")
    active: bool | None = Field(default=None, description="With tree=true: on the active branch")


class KallmTurn(BaseModel):
    query_id: str | None
    message_id: str
    timestamp: str
    role: Literal["kallm"]
    intent: int
    sources_limit: int
    sources: list[SourceItem | dict[str, Any]]
    success: bool
    suggestions: list[str]
    message: str
    model: str | None
    safety: SafetyOut | None = None  # what the safety layer did with this reply (Emmaus)
    parent_id: str | None = Field(default=None, description="With tree=true (Emmaus)")
    active: bool | None = Field(default=None, description="With tree=true: on the active branch")
    status: Literal["pending", "complete", "partial", "failed"] | None = Field(
        default=None, description="With tree=true (Emmaus)"
    )


class ChatHistory(BaseModel):
    user_id: str
    chat_id: str
    created_at: str
    updated_at: str
    messages: list[UserTurn | KallmTurn]
    pin: bool
    summary: str | None
    title: str | None
    head_message_id: str | None = Field(
        default=None,
        description="Emmaus, with tree=true and after a branch switch: the active branch's leaf",
    )


class ChatUpdate(BaseModel):
    new_value: Any = ""


class ChatUpdated(BaseModel):
    chat_id: str
    field: str
    value: Any


class MessageDeleted(BaseModel):
    deleted: bool
    message_id: str
    deleted_message_ids: list[str] = Field(description="Emmaus: every message removed")


class ChatCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")

    title: Text | None = Field(default=None, max_length=500)
    tradition: Tradition | None = None


class ChatDeleted(BaseModel):
    deleted: bool
    chat_id: str


class ChatListItem(BaseModel):
    chat_id: str
    user_id: str
    title: str | None
    summary: str | None
    pin: bool
    tradition: str | None
    created_at: str
    updated_at: str


class ChatList(BaseModel):
    chats: list[ChatListItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: end")


# -- domain → wire -------------------------------------------------------------------------


def message_response(result: TurnResult) -> dict[str, Any]:
    return {
        "chat_id": result.chat_id,
        "query_id": result.query_id,
        "message_id": result.message_id,
        "timestamp": v1_timestamp(result.timestamp),
        "success": result.success,
        "message": result.message,
        "model": result.model,
        "sources": result.sources,
        "sources_limit": result.sources_limit,
        "suggestions": result.suggestions,
        "intent": result.intent,
        "safety": result.safety,
    }


def kallm_response(result: TurnResult) -> dict[str, Any]:
    return {
        "query_id": result.query_id,
        "message_id": result.message_id,
        "message": result.message,
        "timestamp": v1_timestamp(result.timestamp),
    }


def history_turn(
    message: StoredMessage, model: str | None, safety: dict[str, Any] | None
) -> dict[str, Any]:
    meta = message.meta or {}
    if message.role == "user":
        return {
            "query_id": message.query_id,
            "message_id": message.id,
            "timestamp": v1_timestamp(message.created_at),
            "role": "user",
            "character_limit": int(meta.get("character_limit") or 0),
            "stream": bool(meta.get("stream", False)),
            "intent": int(meta.get("intent") or 0),
            "message": message.content,
            "model": model,
            "publishers": list(meta.get("publishers") or []),
            "safety": safety,
        }
    return {
        "query_id": message.query_id,
        "message_id": message.id,
        "timestamp": v1_timestamp(message.updated_at),
        "role": "kallm",
        "intent": int(meta.get("intent") or 0),
        "sources_limit": int(meta.get("sources_limit") or 0),
        "sources": list(message.sources or []),
        "success": message.status == COMPLETE,
        "suggestions": list(message.suggestions or []),
        "message": message.content,
        "model": message.model,
        "safety": meta.get("safety"),
    }


def _v1_visible(message: StoredMessage) -> bool:
    return message.role in ("user", "assistant") and not message.tool_calls


def chat_history(
    chat: Chat, messages: list[StoredMessage], active: set[str] | None = None
) -> dict[str, Any]:
    """Gloo's history: user turns and `kallm` replies (other roles are not part of v1). With
    `active` (the ids on the active branch), `messages` is the whole tree: each turn also gets
    `parent_id`, `active` and (replies) `status`."""
    replies = [m for m in messages if m.role == "assistant"]
    if active is not None:  # siblings share a query_id: the active reply's values win
        replies.sort(key=lambda m: m.id in active)
    models = {m.query_id: m.model for m in replies if m.model}
    # A question shows the verdict stored with its reply (the reply records the turn's verdict).
    verdicts = {m.query_id: (m.meta or {}).get("safety") for m in replies}
    shown = [m for m in messages if _v1_visible(m)]
    turns = [history_turn(m, models.get(m.query_id), verdicts.get(m.query_id)) for m in shown]
    body: dict[str, Any] = {
        "user_id": chat.user_id,
        "chat_id": chat.id,
        "created_at": v1_timestamp(chat.created_at),
        "updated_at": v1_timestamp(chat.updated_at),
        "messages": turns,
        "pin": chat.pin,
        "summary": chat.summary,
        "title": chat.title,
    }
    if active is not None:
        parents = _shown_parents(messages, {m.id for m in shown})
        for turn, message in zip(turns, shown, strict=True):
            turn.update(parent_id=parents.get(message.id), active=message.id in active)
            if message.role == "assistant":
                turn["status"] = message.status
        body["head_message_id"] = chat.head_message_id
    return body


def _shown_parents(messages: list[StoredMessage], shown: set[str]) -> dict[str, str | None]:
    """Each shown message's nearest shown ancestor (tool calls and results are not v1)."""
    parent_of = {m.id: m.parent_id for m in messages}
    found: dict[str, str | None] = {}
    for message_id in shown:
        parent = parent_of.get(message_id)
        while parent is not None and parent not in shown:
            parent = parent_of.get(parent)
        found[message_id] = parent
    return found


def chat_list_item(chat: Chat) -> dict[str, Any]:
    return {
        "chat_id": chat.id,
        "user_id": chat.user_id,
        "title": chat.title,
        "summary": chat.summary,
        "pin": chat.pin,
        "tradition": chat.tradition,
        "created_at": v1_timestamp(chat.created_at),
        "updated_at": v1_timestamp(chat.updated_at),
    }
