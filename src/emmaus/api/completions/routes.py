"""`POST /ai/v2/chat/completions`: validate, route, call, and answer as JSON or SSE."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from emmaus.api.common.model_calls import CLIENT_CLOSED_REQUEST, sse_response
from emmaus.api.common.schemas import COMPLETION_ERRORS
from emmaus.api.common.state import for_client, system_of
from emmaus.api.completions.chunks import ChunkWriter, completion_body
from emmaus.api.completions.protocol import ChatCompletion, ChatCompletionRequest
from emmaus.api.completions.serving import (
    complete_unless_gone,
    open_stream_unless_gone,
    sse_events,
)
from emmaus.auth import AuthContext, require_api_access, reserve_tokens

router = APIRouter()


@router.post(
    "/chat/completions",
    dependencies=[Depends(reserve_tokens)],  # tokens held for the model call
    response_model=ChatCompletion,
    responses=COMPLETION_ERRORS,
    summary="Chat completion with routing, tradition, tools and streaming",
)
async def chat_completions(
    body: ChatCompletionRequest,
    request: Request,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    service = system_of(request).completions
    domain = for_client(body.to_domain(), auth, body.routing_preference)
    decision = service.decide(domain)
    if body.stream:
        opened = await open_stream_unless_gone(request, service, domain, decision)
        if opened is None:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        served, deltas = opened
        writer = ChunkWriter(served, body.tradition, body.include_usage)
        return sse_response(sse_events(writer, deltas, served, request))
    answered = await complete_unless_gone(request, service, domain, decision)
    if answered is None:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    served, result = answered
    return Response(completion_body(served, body.tradition, result), media_type="application/json")
