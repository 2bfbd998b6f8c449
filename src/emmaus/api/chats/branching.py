"""Branching over HTTP, beside the v1 routes (Emmaus extensions, under `/ai/v1/chat/`):

| Route | What it does |
|---|---|
| `POST /ai/v1/chat/edit` | A new sibling of a user turn with new text, answered; JSON or SSE |
| `POST /ai/v1/chat/regenerate` | A new sibling of a reply to the same question; JSON or SSE |
| `GET /ai/v1/chat/siblings?chat_id=&message_id=` | A message's alternatives, which is active |
| `POST /ai/v1/chat/branch` | Make the branch through a message active (its newest leaf) |

Edits and regenerations answer like `POST /ai/v1/message` (the same service path) and become the
active branch; the model only ever sees the active branch. `GET /ai/v1/chat?tree=true` shows
every branch."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from emmaus.api.chats import branch_protocol as ext
from emmaus.api.chats import protocol as v1
from emmaus.api.chats.serving import ERRORS, Auth, Service, answer
from emmaus.api.common.errors import json_response
from emmaus.auth.dependencies import reserve_tokens
from emmaus.services.chats.types import SendOptions

router = APIRouter()

_Id = Annotated[str, Query(pattern=v1.NO_NUL, min_length=1, max_length=200)]


def _options(body: ext.AskAgain, query: str, routing_preference: str | None) -> SendOptions:
    """Only what the body gives; the service fills the rest from the original question."""
    return SendOptions(
        query=query,
        chat_id=body.chat_id,
        character_limit=body.character_limit or None,
        sources_limit=body.sources_limit,
        stream=body.stream,
        publishers=[p for p in body.publishers or [] if p],
        enable_suggestions=body.enable_suggestions,
        enable_sources=body.enable_sources,
        intent=body.intent,
        tradition=body.tradition,
        routing_preference=routing_preference,
        model=body.model or None,
        model_family=body.model_family,
    )


@router.post(
    "/chat/edit",
    dependencies=[Depends(reserve_tokens)],
    response_model=ext.BranchResponse,
    responses=ERRORS,
    summary="Edit a user turn: a new sibling with the new text, answered (Emmaus); JSON or SSE",
)
async def edit_turn(
    request: Request, auth: Auth, service: Service, body: ext.EditRequest
) -> Response:
    client_id, chat_id, message_id = auth.client_id, body.chat_id, body.message_id
    options = _options(body, body.query, auth.routing_preference)
    return await answer(
        request,
        options,
        ext.branch_response,
        once=lambda: service.edit_turn(client_id, chat_id, message_id, options),
        streamed=lambda: service.edit_turn_stream(client_id, chat_id, message_id, options),
    )


@router.post(
    "/chat/regenerate",
    dependencies=[Depends(reserve_tokens)],
    response_model=ext.BranchResponse,
    responses=ERRORS,
    summary="Regenerate a reply: a new sibling answer to the same question (Emmaus); JSON or SSE",
)
async def regenerate(
    request: Request, auth: Auth, service: Service, body: ext.RegenerateRequest
) -> Response:
    client_id, chat_id, reply_id = auth.client_id, body.chat_id, body.message_id
    options = _options(body, "", auth.routing_preference)  # the stored question is asked
    return await answer(
        request,
        options,
        ext.branch_response,
        once=lambda: service.regenerate(client_id, chat_id, reply_id, options),
        streamed=lambda: service.regenerate_stream(client_id, chat_id, reply_id, options),
    )


@router.get(
    "/chat/siblings",
    response_model=ext.SiblingList,
    responses=ERRORS,
    summary="A message's siblings: the edits of a question or regenerations of a reply (Emmaus)",
)
async def siblings(auth: Auth, service: Service, chat_id: _Id, message_id: _Id) -> Response:
    found = await service.siblings(auth.client_id, chat_id, message_id)
    return json_response(ext.sibling_list(found))


@router.post(
    "/chat/branch",
    response_model=v1.ChatHistory,
    responses=ERRORS,
    summary="Switch the active branch to the one through a message (Emmaus)",
)
async def switch_branch(auth: Auth, service: Service, body: ext.BranchSwitch) -> Response:
    """The head moves to the newest leaf under `message_id`, so the whole branch below it comes
    back; answers the chat's new active branch, as `GET /ai/v1/chat` would."""
    chat, messages = await service.switch_branch(auth.client_id, body.chat_id, body.message_id)
    history = v1.chat_history(chat, messages)
    history["head_message_id"] = chat.head_message_id
    return json_response(history)
