"""Serving a begun response over HTTP, shared by `/ai/v1/responses` and the conversation
branching routes: JSON, or SSE events; the run stops when the caller leaves."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.model_calls import (
    CLIENT_CLOSED_REQUEST,
    ClientGone,
    record_usage,
    sse_response,
    until_disconnect,
)
from emmaus.api.responses import render
from emmaus.api.responses.events import EventWriter, sse_events
from emmaus.engine.types import Usage
from emmaus.services.responses.run import ResponseRun


async def serve_run(request: Request, run: ResponseRun, *, stream: bool) -> Response:
    """A begun response as JSON or SSE; nothing when the caller left (the run is stopped)."""
    catalog = request.app.state.catalog
    if stream:
        try:
            events = await until_disconnect(request, run.stream())
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        writer = EventWriter(run, catalog)
        return sse_response(_metered(request, sse_events(writer, events), run))
    try:
        record = await until_disconnect(request, run.complete())
    except ClientGone:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    record_usage(request, record.usage)
    return json_response(render.response_object(record, catalog))


async def _metered(
    request: Request, events: AsyncIterator[bytes], run: ResponseRun
) -> AsyncIterator[bytes]:
    """The stream, then its tokens handed to the rate limiter."""
    async for chunk in events:
        yield chunk
    reply = run.reply
    if reply.completion_tokens is not None:
        record_usage(request, Usage(reply.prompt_tokens or 0, reply.completion_tokens or 0))
