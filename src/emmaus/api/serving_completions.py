"""`POST /ai/v2/chat/completions`: validate, route, call, and answer as JSON or SSE."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emmaus.api.chunks import ChunkWriter, completion_body
from emmaus.api.model_calls import (
    CLIENT_CLOSED_REQUEST,
    ClientGone,
    record_usage,
    sse_response,
    until_disconnect,
)
from emmaus.api.protocol import ChatCompletion, ChatCompletionRequest, CompletionError
from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import Completion, StreamDelta, Usage
from emmaus.errors import EmmausError, ProviderError, ProviderStreamBroken
from emmaus.services.completions import CompletionRequest, CompletionService, Served

log = logging.getLogger(__name__)
router = APIRouter()

COMPLETION_ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": CompletionError, "description": text}
    for code, text in {
        400: "Malformed JSON",
        404: "Unknown model",
        408: "The model did not answer in time",
        413: "Request body too large",
        422: "Invalid request or routing rule violated",
        502: "The upstream model failed",
        503: "The model is overloaded or unavailable",
    }.items()
}


def completion_service(request: Request) -> CompletionService:
    service: CompletionService = request.app.state.completions
    return service


async def complete_unless_gone(
    request: Request,
    service: CompletionService,
    domain: CompletionRequest,
    decision: RoutingDecision,
) -> tuple[Served, Completion] | None:
    """The whole answer, with its usage recorded; None when the caller hung up first."""
    try:
        served, result = await until_disconnect(request, service.complete(domain, decision))
    except ClientGone:
        log.info("client disconnected; generation cancelled")
        return None
    record_usage(request, result.usage)
    return served, result


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses=COMPLETION_ERRORS,  # type: ignore[arg-type]
    summary="Chat completion with routing, tradition, tools and streaming",
)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    service = completion_service(request)
    domain = body.to_domain()
    decision = service.decide(domain)
    if body.stream:
        try:  # a caller who leaves before the first token stops the model too
            served, deltas = await until_disconnect(request, service.stream(domain, decision))
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        writer = ChunkWriter(served, body.tradition, body.include_usage)
        return sse_response(sse_events(writer, deltas, served, request))
    answered = await complete_unless_gone(request, service, domain, decision)
    if answered is None:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    served, result = answered
    return Response(completion_body(served, body.tradition, result), media_type="application/json")


async def sse_events(
    writer: ChunkWriter,
    deltas: AsyncIterator[StreamDelta],
    served: Served,
    request: Request,
    *,
    prelude: bytes = b"",
) -> AsyncIterator[bytes]:
    """Relay provider deltas as SSE, after `prelude` (events a route sends first). Starlette
    cancels this generator when the client goes away; closing `deltas` then stops the
    generation upstream or on the local worker."""
    yield prelude + writer.first()
    usage: Usage | None = None
    try:
        async for delta in deltas:
            if delta.usage is not None:
                usage = delta.usage
            if delta.content or delta.tool_calls:
                yield writer.delta(delta)
            if delta.finish_reason is not None:
                if usage is not None:
                    record_usage(request, usage)
                yield writer.final(delta.finish_reason, usage)
                return
        yield writer.error(ProviderStreamBroken(f"{served.model.id} ended without finishing"))
    except ProviderError as exc:
        log.warning("stream from %s failed: %s", served.model.id, exc.message)
        yield writer.error(exc)
    except EmmausError as exc:
        yield writer.error(exc)
    except Exception:
        log.exception("stream from %s failed", served.model.id)
        yield writer.error(EmmausError("internal error while streaming"))
    finally:
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()
