"""The v1 Chat & Message API from the terminal's side: an HTTP client of `/ai/v1/...` that
streams a turn's pieces as they arrive and can stop it. It knows HTTP and the v1 wire format,
nothing of the terminal (`chat_session.py` draws).

```python
client = ChatClient(httpx.AsyncClient(base_url=url))
await client.sign_in(client_id, client_secret)      # OAuth2 client credentials
async with client.send(Ask("Who was Moses?")) as turn:
    turn.message_id                                 # known before the first piece (headers)
    async for piece in turn.pieces():
        ...
    turn.result                                     # the final v1 object (ids, sources, ...)
await client.stop(turn.chat_id, turn.message_id)    # from elsewhere, while it streams
```"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

FAMILIES = ("openai", "anthropic", "google", "open source")


class ChatClientError(Exception):
    """A refused or failed request, with the server's own words."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(slots=True)
class Ask:
    """One question and the chat settings it is sent with."""

    query: str
    chat_id: str | None = None
    tradition: str | None = None
    model: str | None = None  # a catalog model id (None: auto-routing)
    model_family: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"query": self.query, "stream": True}
        for name in ("chat_id", "tradition", "model", "model_family"):
            value = getattr(self, name)
            if value:
                body[name] = value
        return body


class Turn:
    """A streamed answer: its ids (from the response headers, before any piece), its pieces,
    and the final v1 object once the stream has ended."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        headers = response.headers
        self.chat_id: str | None = headers.get("x-emmaus-chat-id")
        self.query_id: str | None = headers.get("x-emmaus-query-id")
        self.message_id: str | None = headers.get("x-emmaus-message-id")
        self.result: dict[str, Any] | None = None

    async def pieces(self) -> AsyncIterator[str]:
        """The reply's text as it is written; `result` is set when the stream ends."""
        try:
            async for piece in self._pieces():
                yield piece
        except httpx.TransportError as exc:
            raise ChatClientError(f"the answer was cut off: {exc}") from exc
        except orjson.JSONDecodeError as exc:
            raise ChatClientError(f"the server sent an event that is not JSON: {exc}") from exc

    async def _pieces(self) -> AsyncIterator[str]:
        async for line in self._response.aiter_lines():
            if not line.startswith("data:"):
                continue  # blank separators and SSE comments
            data = line[5:].strip()
            if data == "[DONE]":
                return
            event = orjson.loads(data)
            if "chat_id" in event:  # the final event: the whole v1 response object
                self.result = event
                self.chat_id = event.get("chat_id") or self.chat_id
                self.message_id = event.get("message_id") or self.message_id
            elif isinstance(event.get("message"), str):
                yield event["message"]


def _readable(response: httpx.Response) -> str:
    """The message of any of Emmaus' error shapes (v1, auth, validation)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, list) and detail:
        first = detail[0]
        where = ".".join(str(p) for p in first.get("loc", ())[1:])
        return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
    if isinstance(error, str):  # the auth shape: {"error": "invalid_client", "code": ...}
        return str(body.get("error_description") or body.get("message") or error)
    return str(detail or body)


async def _check(response: httpx.Response) -> None:
    if response.is_success:
        return
    await response.aread()
    raise ChatClientError(
        f"{response.status_code} {_readable(response)}", status=response.status_code
    )


class ChatClient:
    """Speaks `/oauth2/token`, `/ai/v1/message`, `/ai/v1/chat(s)` and `/ai/v2/models` over
    `http` (any httpx client: a server's URL, or an app in this process)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        # How to get a new token when the one in use expires (a 401): sign in again.
        self.renew: Callable[[], Awaitable[None]] | None = None

    def use_token(self, token: str) -> None:
        self.http.headers["Authorization"] = f"Bearer {token}"

    async def sign_in(self, client_id: str, client_secret: str) -> None:
        """OAuth2 client credentials; the token is used for every later request."""
        try:
            response = await self.http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(client_id, client_secret),
            )
        except httpx.TransportError as exc:
            raise ChatClientError(f"cannot reach {self.http.base_url}: {exc}") from exc
        await _check(response)
        token = response.json().get("access_token")
        if not token:
            raise ChatClientError("the token endpoint answered without an access_token")
        self.use_token(token)

        async def again() -> None:
            await self.sign_in(client_id, client_secret)

        self.renew = again

    @asynccontextmanager
    async def send(self, ask: Ask) -> AsyncIterator[Turn]:
        """POST /ai/v1/message with `"stream": true`; yields once the stream is open."""
        response = await self._send(True, "POST", "/ai/v1/message", json=ask.body())
        try:
            await _check(response)
            yield Turn(response)
        finally:
            await response.aclose()

    async def stop(self, chat_id: str | None, message_id: str) -> dict[str, Any]:
        """PUT /ai/v1/message?task=stop: the reply keeps what was written."""
        params = {"task": "stop", "message_id": message_id}
        if chat_id:
            params["chat_id"] = chat_id
        return await self._json("PUT", "/ai/v1/message", params=params)

    async def history(self, chat_id: str, *, tree: bool = False) -> dict[str, Any]:
        """The active branch (or, with `tree`, every message with its status)."""
        params = {"chat_id": chat_id, **({"tree": "true"} if tree else {})}
        return await self._json("GET", "/ai/v1/chat", params=params)

    async def chats(self, limit: int = 20) -> list[dict[str, Any]]:
        page = await self._json("GET", "/ai/v1/chats", params={"limit": limit})
        return list(page.get("chats") or [])

    async def models(self) -> list[dict[str, Any]]:
        listing = await self._json("GET", "/ai/v2/models")
        return list(listing.get("data") or [])

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._send(False, method, path, **kwargs)
        await _check(response)
        body = response.json()
        return body if isinstance(body, dict) else {"data": body}

    async def _send(self, stream: bool, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; an expired token (401) is renewed once, when it can be."""
        for attempt in (1, 2):
            request = self.http.build_request(method, path, **kwargs)
            try:
                response = await self.http.send(request, stream=stream)
            except httpx.TransportError as exc:
                raise ChatClientError(f"cannot reach {self.http.base_url}: {exc}") from exc
            if response.status_code != 401 or self.renew is None or attempt == 2:
                return response
            await response.aclose()
            await self.renew()
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.http.aclose()
