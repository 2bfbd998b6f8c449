"""Serving a v2 completion over HTTP, shared by the v2 and grounded routes: the whole answer
unless the caller hangs up, and the relay of provider deltas as SSE chunks."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import Request

from emmaus.api.common.model_calls import ClientGone, record_usage, until_disconnect
from emmaus.api.completions.chunks import ChunkWriter
from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import Completion, StreamDelta, Usage
from emmaus.errors import EmmausError, ProviderError, ProviderStreamBroken
from emmaus.services.completions import CompletionRequest, CompletionService, Served
from emmaus.services.safeguard import SafetyOutcome

log = logging.getLogger(__name__)


async def complete_unless_gone(
    request: Request,
    service: CompletionService,
    domain: CompletionRequest,
    decision: RoutingDecision,
    safety: SafetyOutcome | None = None,
) -> tuple[Served, Completion] | None:
    """The whole answer, with its usage recorded; None when the caller hung up first."""
    try:
        work = service.complete(domain, decision, safety)
        served, result = await until_disconnect(request, work)
    except ClientGone:
        log.info("client disconnected; generation cancelled")
        return None
    record_usage(request, result.usage)
    return served, result


async def open_stream_unless_gone(
    request: Request,
    service: CompletionService,
    domain: CompletionRequest,
    decision: RoutingDecision,
    safety: SafetyOutcome | None = None,
) -> tuple[Served, AsyncIterator[StreamDelta]] | None:
    """The open stream; None when the caller left before the first token (the model stops)."""
    try:
        return await until_disconnect(request, service.stream(domain, decision, safety))
    except ClientGone:
        return None


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
