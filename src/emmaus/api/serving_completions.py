"""`POST /ai/v2/chat/completions`: validate, route, call, and answer as JSON or SSE."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from emmaus.api.chunks import ChunkWriter, completion_body
from emmaus.api.protocol import ChatCompletion, ChatCompletionRequest, CompletionError
from emmaus.engine.types import StreamDelta, Usage
from emmaus.errors import EmmausError, ProviderError, ProviderStreamBroken
from emmaus.services.completions import CompletionService, Served

log = logging.getLogger(__name__)
router = APIRouter()

T = TypeVar("T")

_ERRORS: dict[int | str, dict[str, object]] = {
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
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class ClientGone(Exception):
    """The caller hung up before the answer was ready."""


def completion_service(request: Request) -> CompletionService:
    service: CompletionService = request.app.state.completions
    return service


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it if the client disconnects first, so an abandoned non-streaming
    request stops its upstream call instead of running to the end."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait((task, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
    if not task.done():
        task.cancel()
        raise ClientGone
    return task.result()


async def _disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses=_ERRORS,  # type: ignore[arg-type]
    summary="Chat completion with routing, tradition, tools and streaming",
)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    service = completion_service(request)
    domain = body.to_domain()
    decision = service.decide(domain)
    if body.stream:
        served, deltas = await service.stream(domain, decision)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        writer = ChunkWriter(served, body.tradition, include_usage)
        return StreamingResponse(
            sse_events(writer, deltas, served, request),
            media_type="text/event-stream",
            headers=_SSE_HEADERS,
        )
    try:
        served, result = await until_disconnect(request, service.complete(domain, decision))
    except ClientGone:
        log.info("client disconnected; generation cancelled")
        return Response(status_code=499)
    record_usage(request, result.usage)
    return Response(completion_body(served, body.tradition, result), media_type="application/json")


def record_usage(request: Request, usage: Usage) -> None:
    """Hand the tokens used to whoever meters them (the rate limiter, when auth is on)."""
    hook = getattr(request.app.state, "usage_hook", None)
    if hook is not None:
        hook(request, usage)


async def sse_events(
    writer: ChunkWriter, deltas: AsyncIterator[StreamDelta], served: Served, request: Request
) -> AsyncIterator[bytes]:
    """Relay provider deltas as SSE. Starlette cancels this generator when the client goes away;
    closing `deltas` then stops the generation upstream or on the local worker."""
    yield writer.first()
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
