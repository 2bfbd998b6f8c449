"""`emmaus chat` without a server: the real app built in this process and spoken to over HTTP
semantics without a socket, so the terminal runs exactly the code a server runs (auth, the v1
routes, streaming, stop).

httpx's own `ASGITransport` returns a response only once the app has finished it, which would
show a streamed answer all at once and leave nothing to stop; `StreamingASGITransport` hands
the response over at `http.response.start` and its body piece by piece."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from emmaus.api.app import create_app
from emmaus.auth import SCOPE_API
from emmaus.catalog import Catalog
from emmaus.cli.chat_client import ChatClient
from emmaus.config import Settings

TERMINAL_CLIENT = "terminal"  # the API client in-process chats belong to
_BASE_URL = "http://emmaus.in-process"
_CLOSE_WAIT = 5.0  # seconds a response the reader left may take to notice


class _Body(httpx.AsyncByteStream):
    def __init__(
        self,
        chunks: asyncio.Queue[bytes | BaseException | None],
        app: asyncio.Task[None],
        gone: asyncio.Event,
    ) -> None:
        self._chunks = chunks
        self._app = app
        self.gone = gone

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self._chunks.get()
            if chunk is None:
                return
            if isinstance(chunk, BaseException):
                raise httpx.ReadError(f"the app failed mid-response: {chunk!r}") from chunk
            yield chunk

    async def aclose(self) -> None:
        self.gone.set()
        if not self._app.done():
            done, _ = await asyncio.wait({self._app}, timeout=_CLOSE_WAIT)
            if not done:
                self._app.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._app


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Calls an ASGI app in this event loop; the body streams while the app writes it."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "root_path": "",
            "server": (url.host, url.port or 80),
            "client": ("127.0.0.1", 0),
        }
        loop = asyncio.get_running_loop()
        started: asyncio.Future[dict[str, Any]] = loop.create_future()
        chunks: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        request_sent = False
        gone = asyncio.Event()  # the reader closed the response: the app sees a disconnect

        async def receive() -> dict[str, Any]:
            nonlocal request_sent
            if not request_sent:
                request_sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.set_result(message)
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    chunks.put_nowait(message["body"])
                if not message.get("more_body", False):
                    chunks.put_nowait(None)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not started.done():
                    started.set_exception(exc)
                chunks.put_nowait(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                if not started.done():
                    started.set_exception(RuntimeError("the app sent no response"))
                chunks.put_nowait(None)  # harmless after the final body message

        app_task = loop.create_task(run())
        stream = _Body(chunks, app_task, gone)
        message = await started
        return httpx.Response(message["status"], headers=message.get("headers", []), stream=stream)


async def _terminal_token(system: Any) -> str:
    """A token of the local `terminal` client (created on first use): in this process the
    operator owns the database, so no secret is needed to act as it."""
    clients = system.auth.clients
    existing = [c for c in await clients.list_all() if c.name == TERMINAL_CLIENT and c.active]
    client = existing[0] if existing else (await clients.create(TERMINAL_CLIENT, SCOPE_API))[0]
    return system.auth.tokens.issue(client.id, {SCOPE_API}).access_token


@asynccontextmanager
async def in_process_client(
    settings: Settings,
    catalog: Catalog | None = None,
    *,
    credentials: tuple[str, str] | None = None,
) -> AsyncIterator[ChatClient]:
    """A `ChatClient` of the app built here (its lifespan: database, models, services),
    signed in with `credentials`, or as the local `terminal` client."""
    app = create_app(settings, catalog=catalog)
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(
            transport=StreamingASGITransport(app), base_url=_BASE_URL, timeout=None
        )
        client = ChatClient(http)
        try:
            if credentials is not None:
                await client.sign_in(*credentials)
            else:

                async def renew() -> None:
                    client.use_token(await _terminal_token(app.state.system))

                await renew()
                client.renew = renew
            yield client
        finally:
            await client.aclose()
