"""The v1 Chat & Message API (`/ai/v1/...`): Gloo's deprecated stateful endpoints, served by
ChatService on the v2 engine and the operator's own database; Gloo's v1 stop; and the branching
extensions (`branching.py`, included here)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import Response

from emmaus.api.chats import branch_protocol as ext
from emmaus.api.chats import branching, history
from emmaus.api.chats import protocol as v1
from emmaus.api.chats.serving import ERRORS, Auth, Service, Shape, answer
from emmaus.api.common.errors import json_response
from emmaus.auth.dependencies import AuthContext, reserve_tokens
from emmaus.errors import InvalidChatOperation
from emmaus.services.chats.service import ChatService
from emmaus.services.chats.types import SendOptions

router = APIRouter()

# Query-string flags arrive as text: ranged ints validate "0"/"1" where Literal[0, 1] would not.
Flag = Annotated[int | None, Query(ge=0, le=1)]
SourcesFlag = Annotated[int | None, Query(ge=0, le=2, description="0 off, 1 auto, 2 always")]


_IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="A retry with the same key returns the first result and writes nothing",
    ),
]
_ChatIdQuery = Annotated[
    str | None, Query(pattern=v1.NO_NUL, description="Chat to continue (or in the body)")
]
_Id = Annotated[str, Query(pattern=v1.NO_NUL, max_length=200)]
_OptionalId = Annotated[str | None, Query(pattern=v1.NO_NUL, max_length=200)]


async def _options(  # async: FastAPI runs a plain `def` dependency in a worker thread
    body: v1.MessageRequest,
    chat_id: _ChatIdQuery = None,
    intent: Flag = None,
    enable_sources: SourcesFlag = None,
    enable_suggestions: Flag = None,
    idempotency_key: _IdempotencyKey = None,
) -> SendOptions:
    """The send options from the body and the query string (the query string wins), as a
    dependency shared by both message routes."""

    def pick(query_value: Any, body_value: Any) -> Any:
        return query_value if query_value is not None else body_value

    return SendOptions(
        query=body.query,
        chat_id=pick(chat_id or None, body.chat_id or None),
        character_limit=body.character_limit or None,
        sources_limit=body.sources_limit,
        stream=body.stream,
        publishers=[p for p in body.publishers if p],
        enable_suggestions=pick(enable_suggestions, body.enable_suggestions),
        enable_sources=pick(enable_sources, body.enable_sources),
        intent=pick(intent, body.intent),
        tradition=body.tradition,
        idempotency_key=(idempotency_key or "").strip() or None,
        model=body.model or None,
        model_family=body.model_family,
    )


Options = Annotated[SendOptions, Depends(_options)]


async def _send(
    request: Request, service: ChatService, auth: AuthContext, options: SendOptions, shape: Shape
) -> Response:
    client_id = auth.client_id
    options.routing_preference = auth.routing_preference  # the client's default
    return await answer(
        request,
        options,
        shape,
        once=lambda: service.send(client_id, options),
        streamed=lambda: service.send_stream(client_id, options),
    )


@router.post(
    "/message",
    dependencies=[Depends(reserve_tokens)],  # tokens held for the turn's model calls
    response_model=v1.MessageResponse,
    responses=ERRORS,
    summary="Send a message (a new chat when chat_id is absent); JSON or SSE",
)
async def post_message(
    request: Request, auth: Auth, service: Service, options: Options
) -> Response:
    return await _send(request, service, auth, options, v1.message_response)


@router.post(
    "/message/kallm",
    dependencies=[Depends(reserve_tokens)],
    response_model=v1.KallmResponse,
    responses=ERRORS,
    summary="Send a message; reduced response (query_id, message_id, message, timestamp)",
)
async def post_message_kallm(
    request: Request, auth: Auth, service: Service, options: Options
) -> Response:
    return await _send(request, service, auth, options, v1.kallm_response)


@router.delete(
    "/message",
    response_model=v1.MessageDeleted,
    responses=ERRORS,
    summary="Delete a message (message_id) or a whole exchange (query_id)",
)
async def delete_message(
    auth: Auth, service: Service, message_id: _OptionalId = "", query_id: _OptionalId = ""
) -> Response:
    if not message_id and not query_id:
        raise InvalidChatOperation("give message_id or query_id")
    deleted = await service.delete_message(
        auth.client_id, message_id=message_id or None, query_id=query_id or None
    )
    return json_response(
        {"deleted": True, "message_id": message_id or deleted[0], "deleted_message_ids": deleted}
    )


@router.put(
    "/message",
    response_model=ext.StopResponse,
    responses=ERRORS,
    summary="Stop a generation in progress (task=stop), on whichever instance runs it",
)
async def put_message(
    auth: Auth,
    service: Service,
    task: Annotated[Literal["stop"], Query(description="The only task: stop")],
    message_id: Annotated[
        str,
        Query(
            pattern=v1.NO_NUL,
            min_length=1,
            max_length=200,
            description="The reply, its user turn, or the exchange's query_id",
        ),
    ],
    chat_id: Annotated[
        str | None, Query(pattern=v1.NO_NUL, max_length=200, description="Optional in Emmaus")
    ] = None,
) -> Response:
    """Stops the reply and keeps the text written so far (status `partial`); `success` is
    false when nothing was running (the reply had already finished)."""
    outcome = await service.stop(auth.client_id, message_id, chat_id=chat_id or None)
    return json_response(
        {
            "task": task,
            "success": outcome.stopped,
            "chat_id": outcome.chat_id,
            "message_id": outcome.reply_id,
            "status": outcome.status,
        }
    )


@router.get(
    "/chat", response_model=v1.ChatHistory, responses=ERRORS, summary="Chat history and details"
)
async def get_chat(
    auth: Auth,
    service: Service,
    chat_id: _Id,
    tree: Annotated[
        bool, Query(description="Emmaus: every branch, with parent_id and the active one marked")
    ] = False,
) -> Response:
    if tree:
        whole = await service.get_tree(auth.client_id, chat_id)
        return json_response(v1.chat_history(whole.chat, whole.messages, whole.active))
    chat, messages = await service.get_chat(auth.client_id, chat_id)
    return json_response(v1.chat_history(chat, messages))


@router.patch(
    "/chat",
    response_model=v1.ChatUpdated,
    responses=ERRORS,
    summary="Pin/unpin, rename, or set the summary of a chat",
)
async def patch_chat(
    auth: Auth,
    service: Service,
    chat_id: _Id,
    chat_field: Annotated[Literal["pin", "title", "summary"], Query(max_length=7)],
    body: Annotated[v1.ChatUpdate | None, Body()] = None,
) -> Response:
    value = (body or v1.ChatUpdate()).new_value
    stored = await service.update_chat_field(auth.client_id, chat_id, chat_field, value)
    return json_response({"chat_id": chat_id, "field": chat_field, "value": stored})


@router.post(
    "/chat",
    response_model=v1.ChatHistory,
    responses=ERRORS,
    summary="Create an empty chat (Emmaus extension)",
)
async def create_chat(
    auth: Auth, service: Service, body: Annotated[v1.ChatCreate | None, Body()] = None
) -> Response:
    spec = body or v1.ChatCreate()
    chat = await service.create_chat(auth.client_id, title=spec.title, tradition=spec.tradition)
    return json_response(v1.chat_history(chat, []))


@router.delete(
    "/chat",
    response_model=v1.ChatDeleted,
    responses=ERRORS,
    summary="Delete a chat and its messages (Emmaus extension)",
)
async def delete_chat(auth: Auth, service: Service, chat_id: _Id) -> Response:
    await service.delete_chat(auth.client_id, chat_id)
    return json_response({"deleted": True, "chat_id": chat_id})


@router.get(
    "/chats",
    response_model=v1.ChatList,
    responses=ERRORS,
    summary="List this client's chats, newest activity first (Emmaus extension)",
)
async def list_chats(
    auth: Auth,
    service: Service,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: _OptionalId = None,
) -> Response:
    page = await service.list_chats(auth.client_id, limit=limit, cursor=cursor)
    return json_response(
        {"chats": [v1.chat_list_item(c) for c in page.chats], "next_cursor": page.next_cursor}
    )


router.include_router(branching.router)
router.include_router(history.router)
