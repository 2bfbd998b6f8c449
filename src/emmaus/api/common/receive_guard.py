"""The shape both body guards share (size and text): a check on each piece of a request body as
the app reads it; when it fails before anything was answered, the guard answers instead.

The check raises an `HTTPException` from `receive`: FastAPI re-raises HTTPExceptions met while
reading a body, and the app's handler renders a dict `detail` as the body itself; a read outside
FastAPI's handling (a streamed body) lands here and is answered the same way."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

Check = Callable[[bytes], None]  # raises an HTTPException for a bad piece


async def guarded(
    app: ASGIApp,
    scope: Scope,
    receive: Receive,
    send: Send,
    check: Check,
    refusal: type[HTTPException],
) -> None:
    """Run `app` with `check` on every body piece; answer a `refusal` it raises, unless a
    response already started."""
    started = False

    async def guarded_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    async def checked_receive() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            check(message.get("body", b""))
        return message

    try:
        await app(scope, checked_receive, guarded_send)
    except refusal as exc:
        if not started:
            await answer(send, exc.status_code, dict(exc.detail), exc.headers)


async def answer(
    send: Send, status: int, body: dict[str, object], headers: dict[str, str] | None = None
) -> None:
    extra = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *extra],
        }
    )
    await send({"type": "http.response.body", "body": orjson.dumps(body)})
