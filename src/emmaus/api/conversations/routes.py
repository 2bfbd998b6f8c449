"""`/ai/v1/conversations`: OpenAI's Conversations API, and Emmaus' branching routes on its items
(`siblings`, `activate`, `edit`, `regenerate`). A conversation id is a v1 chat id."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from emmaus.api.common.errors import json_response
from emmaus.api.common.schemas import COMPLETION_ERRORS
from emmaus.api.common.state import system_of
from emmaus.api.responses import render
from emmaus.api.responses.protocol import (
    MAX_ITEMS,
    InputItem,
    InvalidResponseRequest,
    ResponseCreate,
    check_metadata,
    items_to_messages,
    to_domain,
)
from emmaus.api.responses.serving import serve_run
from emmaus.auth import AuthContext, require_api_access, reserve_tokens
from emmaus.conversations.types import Chat
from emmaus.errors import ChatNotFound, ConversationNotFound, ItemNotFound, MessageNotFound
from emmaus.services.responses.conversations import ConversationService

router = APIRouter()
Auth = Annotated[AuthContext, Depends(require_api_access)]
ConversationId = Annotated[str, Path(max_length=200)]
ItemId = Annotated[str, Path(max_length=260)]
T = TypeVar("T")


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[InputItem], Field(max_length=20)] | None = None
    metadata: dict[str, str] | None = None

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_metadata(value)


class ConversationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: dict[str, str]

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str]) -> dict[str, str]:
        return check_metadata(value) or {}


class ItemsCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: Annotated[list[InputItem], Field(min_length=1, max_length=MAX_ITEMS)]


def conversations_of(request: Request) -> ConversationService:
    return system_of(request).conversations


async def _found(work: Awaitable[T], conversation_id: str) -> T:
    """Store errors in this family's words: an unknown (or another client's) id is a 404."""
    try:
        return await work
    except ChatNotFound:
        raise ConversationNotFound(f"conversation {conversation_id!r} not found") from None
    except MessageNotFound as exc:
        raise ItemNotFound(exc.message) from None


def conversation_object(chat: Chat) -> dict[str, Any]:
    return {
        "id": chat.id,
        "object": "conversation",
        "created_at": int(chat.created_at.timestamp()),
        "metadata": chat.conversation_metadata or {},
    }


@router.post("/conversations", summary="Create a conversation (optionally with its first items)")
async def create_conversation(
    request: Request, auth: Auth, parsed: ConversationCreate | None = None
) -> Response:
    parsed = parsed or ConversationCreate()
    messages = items_to_messages(parsed.items or [], "items")
    chat, _ = await conversations_of(request).create(auth.client_id, parsed.metadata, messages)
    return json_response(conversation_object(chat))


@router.get("/conversations/{conversation_id}", summary="Retrieve a conversation")
async def get_conversation(
    request: Request, auth: Auth, conversation_id: ConversationId
) -> Response:
    service = conversations_of(request)
    chat = await _found(service.get(auth.client_id, conversation_id), conversation_id)
    return json_response(conversation_object(chat))


@router.post("/conversations/{conversation_id}", summary="Update a conversation's metadata")
async def update_conversation(
    request: Request,
    auth: Auth,
    conversation_id: ConversationId,
    parsed: ConversationUpdate,
) -> Response:
    service = conversations_of(request)
    work = service.update(auth.client_id, conversation_id, parsed.metadata)
    return json_response(conversation_object(await _found(work, conversation_id)))


@router.delete("/conversations/{conversation_id}", summary="Delete a conversation and its items")
async def delete_conversation(
    request: Request, auth: Auth, conversation_id: ConversationId
) -> Response:
    service = conversations_of(request)
    await _found(service.delete(auth.client_id, conversation_id), conversation_id)
    return json_response({"id": conversation_id, "object": "conversation.deleted", "deleted": True})


@router.post("/conversations/{conversation_id}/items", summary="Add items to a conversation")
async def create_items(
    request: Request,
    auth: Auth,
    conversation_id: ConversationId,
    parsed: ItemsCreate,
) -> Response:
    messages = items_to_messages(parsed.items, "items")
    service = conversations_of(request)
    rows = await _found(
        service.add_items(auth.client_id, conversation_id, messages), conversation_id
    )
    items = render.flatten(rows)
    return json_response(render.item_list(items, after=None, limit=len(items) or 1, order="asc"))


@router.get(
    "/conversations/{conversation_id}/items",
    summary="The items of the conversation's active branch",
)
async def list_items(
    request: Request,
    auth: Auth,
    conversation_id: ConversationId,
    after: Annotated[str | None, Query(max_length=260)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> Response:
    service = conversations_of(request)
    messages = await _found(service.active_branch(auth.client_id, conversation_id), conversation_id)
    items = render.flatten(messages)
    return json_response(render.item_list(items, after=after, limit=limit, order=order))


async def _item_of(
    service: ConversationService, auth: AuthContext, conversation_id: str, item_id: str
) -> tuple[str, dict[str, Any]]:
    message_id, _ = render.message_id_of(item_id)
    message = await _found(
        service.item(auth.client_id, conversation_id, message_id), conversation_id
    )
    for item in render.items_of(message):
        if item["id"] == item_id:
            return message_id, item
    raise ItemNotFound(f"item {item_id!r} not found")


@router.get("/conversations/{conversation_id}/items/{item_id}", summary="Retrieve an item")
async def get_item(
    request: Request, auth: Auth, conversation_id: ConversationId, item_id: ItemId
) -> Response:
    _, item = await _item_of(conversations_of(request), auth, conversation_id, item_id)
    return json_response(item)


@router.delete(
    "/conversations/{conversation_id}/items/{item_id}",
    summary="Delete an item (a function call's item deletes the reply that made it)",
)
async def delete_item(
    request: Request, auth: Auth, conversation_id: ConversationId, item_id: ItemId
) -> Response:
    service = conversations_of(request)
    message_id, _ = await _item_of(service, auth, conversation_id, item_id)
    chat = await _found(
        service.delete_item(auth.client_id, conversation_id, message_id), conversation_id
    )
    return json_response(conversation_object(chat))


# -- branching (Emmaus) ---------------------------------------------------------------------------


@router.get(
    "/conversations/{conversation_id}/items/{item_id}/siblings",
    summary="Emmaus: the versions of a turn (edits of a question, regenerations of an answer)",
)
async def list_siblings(
    request: Request, auth: Auth, conversation_id: ConversationId, item_id: ItemId
) -> Response:
    service = conversations_of(request)
    message_id, _ = render.message_id_of(item_id)
    work = service.siblings(auth.client_id, conversation_id, message_id)
    versions, active = await _found(work, conversation_id)
    data = [
        {
            **(render.items_of(m) or [render.message_item(m, status="incomplete")])[0],
            "active": m.id == active,
        }
        for m in versions
    ]
    return json_response({"object": "list", "data": data, "active_id": active})


@router.post(
    "/conversations/{conversation_id}/items/{item_id}/activate",
    summary="Emmaus: make the branch through this item the active one",
)
async def activate_item(
    request: Request, auth: Auth, conversation_id: ConversationId, item_id: ItemId
) -> Response:
    service = conversations_of(request)
    message_id, _ = render.message_id_of(item_id)
    chat = await _found(
        service.activate(auth.client_id, conversation_id, message_id), conversation_id
    )
    return json_response({**conversation_object(chat), "active_item_id": chat.head_message_id})


def _fork_request(body: ResponseCreate, auth: AuthContext, *, needs_input: bool) -> Any:
    for name in ("conversation", "previous_response_id"):
        if getattr(body, name) is not None:
            raise InvalidResponseRequest(f"{name} is given by the route")
    domain = to_domain(body, render.reply_id_of, needs_input=needs_input)
    if body.routing_preference is None and auth.routing_preference:
        domain.routing.preference = auth.routing_preference  # type: ignore[misc]
    return domain


@router.post(
    "/conversations/{conversation_id}/items/{item_id}/edit",
    dependencies=[Depends(reserve_tokens)],
    responses=COMPLETION_ERRORS,
    summary="Emmaus: a new version of a user message (`input`), answered; returns the response",
)
async def edit_item(
    request: Request,
    auth: Auth,
    conversation_id: ConversationId,
    item_id: ItemId,
    parsed: ResponseCreate,
) -> Response:
    domain = _fork_request(parsed, auth, needs_input=True)
    service = conversations_of(request)
    work = service.edit(auth.client_id, conversation_id, item_id, domain)
    run = await _found(work, conversation_id)
    return await serve_run(request, run, stream=parsed.stream)


@router.post(
    "/conversations/{conversation_id}/items/{item_id}/regenerate",
    dependencies=[Depends(reserve_tokens)],
    responses=COMPLETION_ERRORS,
    summary="Emmaus: a new answer beside this reply, to the same question; returns the response",
)
async def regenerate_item(
    request: Request,
    auth: Auth,
    conversation_id: ConversationId,
    item_id: ItemId,
    parsed: ResponseCreate | None = None,
) -> Response:
    parsed = parsed or ResponseCreate()
    domain = _fork_request(parsed, auth, needs_input=False)
    service = conversations_of(request)
    work = service.regenerate(auth.client_id, conversation_id, item_id, domain)
    run = await _found(work, conversation_id)
    return await serve_run(request, run, stream=parsed.stream)
