"""`GET /ai/v1/chat/page` (Emmaus): a chat's active branch one page at a time, newest page first,
each turn with its place among its versions and, for replies, the routing decision. What Emmaus
Studio opens a chat with: a 10,000-message chat costs one page, not the whole history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from emmaus.api.chats import protocol as v1
from emmaus.api.chats.serving import ERRORS, Auth, Service
from emmaus.api.common.errors import json_response
from emmaus.conversations.pages import HistoryPage
from emmaus.conversations.types import StoredMessage

router = APIRouter()

_Id = Annotated[str, Query(pattern=v1.NO_NUL, min_length=1, max_length=200)]


class TurnVersions(BaseModel):
    position: int = Field(description="1-based place among the turn's versions")
    count: int
    ids: list[str] = Field(description="Every version's message_id, oldest first")


class TurnRouting(BaseModel):
    model: str | None
    provider: str | None
    mechanism: str | None
    tier: str | None
    confidence: float | None
    reason: str | None


class PageTurn(BaseModel):
    """A v1 history turn (`role` user or kallm) plus the fields below."""

    model_config = {"extra": "allow"}
    message_id: str
    role: str
    message: str
    status: str
    parent_id: str | None
    versions: TurnVersions
    routing: TurnRouting | None = Field(default=None, description="Replies only")
    error: dict[str, Any] | None = None


class ChatPage(BaseModel):
    chat_id: str
    title: str | None
    pin: bool
    tradition: str | None
    head_message_id: str | None
    messages: list[PageTurn] = Field(description="Oldest first within the page")
    has_more: bool = Field(description="Older turns exist: ask again with before=")
    before: str | None = Field(description="Pass as `before` for the next, older page")


def _turn(message: StoredMessage, page: HistoryPage, replies: dict[str, StoredMessage]) -> Any:
    reply = replies.get(message.query_id or "")
    safety = (reply.meta or {}).get("safety") if reply else None
    turn = v1.history_turn(message, reply.model if reply else None, safety)
    versions = page.versions[message.id]
    turn.update(
        status=message.status,
        parent_id=message.parent_id,
        versions={"position": versions.position, "count": versions.count, "ids": versions.ids},
        error=message.error,
    )
    if message.role == "assistant":
        meta = message.meta or {}
        turn["routing"] = {
            "model": message.model,
            "provider": message.provider,
            "mechanism": message.routing_mechanism,
            "tier": message.routing_tier,
            "confidence": message.routing_confidence,
            "reason": meta.get("routing_reason"),
        }
    return turn


@router.get(
    "/chat/page",
    response_model=ChatPage,
    responses=ERRORS,
    summary="A page of the active branch, newest first, with versions and routing (Emmaus)",
)
async def chat_page(
    auth: Auth,
    service: Service,
    chat_id: _Id,
    limit: Annotated[int, Query(ge=1, le=200)] = 40,
    before: Annotated[
        str | None,
        Query(pattern=v1.NO_NUL, max_length=200, description="A message of the active branch"),
    ] = None,
) -> Response:
    page = await service.history_page(auth.client_id, chat_id, limit=limit, before=before or None)
    replies = {m.query_id or "": m for m in page.messages if m.role == "assistant"}
    chat = page.chat
    return json_response(
        {
            "chat_id": chat.id,
            "title": chat.title,
            "pin": chat.pin,
            "tradition": chat.tradition,
            "head_message_id": chat.head_message_id,
            "messages": [_turn(m, page, replies) for m in page.messages],
            "has_more": page.has_more,
            "before": page.oldest_id if page.has_more else None,
        }
    )
