"""What every route that calls a model shares: SSE responses, cancelling work when the caller
hangs up, and handing the tokens used to the rate limiter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import TypeVar

from fastapi import Request
from fastapi.responses import StreamingResponse

from emmaus.api.common.sse import CoalescingStreamingResponse
from emmaus.engine.types import Usage

T = TypeVar("T")

# Proxies must not buffer a stream (X-Accel-Buffering is nginx's switch).
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
# Nobody reads it, but logs show the request ended because the client left (nginx's convention).
CLIENT_CLOSED_REQUEST = 499


class ClientGone(Exception):
    """The caller hung up before the answer was ready."""


def sse_response(events: AsyncIterator[bytes]) -> StreamingResponse:
    return CoalescingStreamingResponse(events, media_type="text/event-stream", headers=SSE_HEADERS)


async def until_disconnect(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it if the client disconnects first, so an abandoned non-streaming
    request stops its model call instead of running to the end."""
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


def record_usage(request: Request, usage: Usage) -> None:
    """Hand the tokens used to whoever meters them (the rate limiter, when auth is on)."""
    hook = getattr(request.app.state, "usage_hook", None)
    if hook is not None:
        hook(request, usage)
