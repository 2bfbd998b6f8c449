"""`/ai/v1/responses`: create (JSON or SSE), retrieve, delete, list input items, cancel."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.schemas import COMPLETION_ERRORS
from emmaus.api.common.state import system_of
from emmaus.api.responses import render
from emmaus.api.responses.protocol import ResponseCreate, to_domain
from emmaus.api.responses.serving import serve_run
from emmaus.auth import AuthContext, require_api_access, reserve_tokens
from emmaus.errors import (
    ChatNotFound,
    ConversationNotFound,
    MessageNotFound,
    ResponseNotFound,
    ResponseNotRunning,
)
from emmaus.services.responses.service import ResponseService
from emmaus.services.responses.types import ResponseRecord

router = APIRouter()
Auth = Annotated[AuthContext, Depends(require_api_access)]
ResponseId = Annotated[str, Path(max_length=200)]


def responses_of(request: Request) -> ResponseService:
    return system_of(request).responses


def _domain_request(body: ResponseCreate, auth: AuthContext) -> Any:
    domain = to_domain(body, render.reply_id_of)
    if body.routing_preference is None and auth.routing_preference:
        domain.routing.preference = auth.routing_preference  # type: ignore[misc]
    return domain


async def _record(service: ResponseService, client_id: str, response: str) -> ResponseRecord:
    try:
        return await service.get(client_id, render.reply_id_of(response))
    except MessageNotFound:
        raise ResponseNotFound(f"response {response!r} not found") from None


@router.post(
    "/responses",
    dependencies=[Depends(reserve_tokens)],
    responses=COMPLETION_ERRORS,
    summary="Create a response (OpenAI's Responses API; Gloo's routing and tradition fields)",
)
async def create_response(request: Request, auth: Auth, parsed: ResponseCreate) -> Response:
    domain = _domain_request(parsed, auth)
    service = responses_of(request)
    try:
        run = await service.begin(auth.client_id, domain)
    except MessageNotFound:
        raise ResponseNotFound(
            f"response {parsed.previous_response_id!r} not found"
            if parsed.previous_response_id
            else "item not found"
        ) from None
    except ChatNotFound:
        raise _conversation_missing(parsed.conversation_id) from None
    return await serve_run(request, run, stream=parsed.stream)


def _conversation_missing(conversation: str | None) -> Exception:
    return ConversationNotFound(f"conversation {conversation!r} not found")


@router.get("/responses/{response_id}", summary="Retrieve a stored response")
async def get_response(request: Request, auth: Auth, response_id: ResponseId) -> Response:
    service = responses_of(request)
    record = await _record(service, auth.client_id, response_id)
    return json_response(render.response_object(record, request.app.state.catalog))


@router.delete("/responses/{response_id}", summary="Delete a stored response and its input")
async def delete_response(request: Request, auth: Auth, response_id: ResponseId) -> Response:
    service = responses_of(request)
    record = await _record(service, auth.client_id, response_id)
    await service.delete(auth.client_id, record.reply.id)
    return json_response({"id": response_id, "object": "response.deleted", "deleted": True})


@router.get(
    "/responses/{response_id}/input_items",
    summary="Every item the model was given for a response, its chain's earlier turns included",
)
async def list_input_items(
    request: Request,
    auth: Auth,
    response_id: ResponseId,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> Response:
    service = responses_of(request)
    record = await _record(service, auth.client_id, response_id)
    messages = await service.input_items(auth.client_id, record.reply.id)
    items = render.flatten(messages)
    return json_response(render.item_list(items, after=after, limit=limit, order=order))


@router.post(
    "/responses/{response_id}/cancel",
    summary="Stop a response still being generated (on whichever instance runs it)",
)
async def cancel_response(request: Request, auth: Auth, response_id: ResponseId) -> Response:
    service = responses_of(request)
    record = await _record(service, auth.client_id, response_id)
    if record.reply.status != "pending":
        raise ResponseNotRunning(f"response {response_id!r} is not running")
    record = await service.cancel(auth.client_id, record.reply.id)
    return json_response(render.response_object(record, request.app.state.catalog))
