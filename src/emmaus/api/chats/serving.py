"""What the v1 routes share: the service dependency, the error table, and answering a turn as
JSON or as SSE (a new message, an edit and a regeneration answer the same way)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.model_calls import (
    CLIENT_CLOSED_REQUEST,
    ClientGone,
    record_usage,
    sse_response,
    until_disconnect,
)
from emmaus.api.common.schemas import error_responses
from emmaus.api.common.state import system_of
from emmaus.auth.dependencies import AuthContext, require_api_access
from emmaus.services.chats.running import TurnStream
from emmaus.services.chats.service import ChatService
from emmaus.services.chats.types import SendOptions, TextDelta, TurnResult

Auth = Annotated[AuthContext, Depends(require_api_access)]
Shape = Callable[[TurnResult], dict[str, Any]]

ERRORS = error_responses(
    {
        404: "No such chat or message for this client",
        408: "The model did not answer in time (the user turn is stored)",
        409: "The first request with this Idempotency-Key is still running",
        422: "Invalid request",
        502: "The model failed (the user turn is stored; see error.query_id)",
        503: "The model is overloaded or unavailable (the user turn is stored)",
    }
)

# A streamed answer names its exchange before the first piece, so a client can stop it
# (`PUT /ai/v1/message?task=stop`) while it streams; the v1 events carry the ids only at the end.
TURN_HEADERS = {
    "X-Emmaus-Chat-Id": "chat_id",
    "X-Emmaus-Query-Id": "query_id",
    "X-Emmaus-Message-Id": "message_id",
    "X-Emmaus-User-Message-Id": "user_message_id",
}


async def chat_service(request: Request) -> ChatService:  # async: no worker-thread hop
    return system_of(request).chat


Service = Annotated[ChatService, Depends(chat_service)]


def _sse(body: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(body) + b"\n\n"


def _public(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k != "status"}


async def _events(events: TurnStream, request: Request, shape: Shape) -> AsyncIterator[bytes]:
    """`data: {"message": "<delta>"}` events, one final event with the whole v1 object (plus an
    `error` object when the model failed mid-way or it was stopped), then `data: [DONE]`."""
    try:
        async for event in events:
            if isinstance(event, TextDelta):
                yield _sse({"message": event.text})
                continue
            body = shape(event)
            if not event.success and event.error:
                body["error"] = _public(event.error)
            if event.usage is not None:
                record_usage(request, event.usage)
            yield _sse(body)
            yield b"data: [DONE]\n\n"
    finally:
        await events.aclose()


async def answer(
    request: Request,
    options: SendOptions,
    shape: Shape,
    *,
    once: Callable[[], Awaitable[TurnResult]],
    streamed: Callable[[], Awaitable[TurnStream]],
) -> Response:
    """Answer a turn as `options.stream` asks: `streamed()` as SSE, else `once()` as JSON. A
    caller who leaves before the answer stops the model too."""
    if options.stream:
        try:
            events = await until_disconnect(request, streamed())
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        response = sse_response(_events(events, request, shape))
        for header, name in TURN_HEADERS.items():
            response.headers[header] = getattr(events, name)
        return response
    try:
        result = await until_disconnect(request, once())
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    if result.usage is not None:
        record_usage(request, result.usage)
    body = shape(result)
    if not result.success and result.error:  # stopped: the text so far, and why it ends there
        body["error"] = _public(result.error)
    return json_response(body)
