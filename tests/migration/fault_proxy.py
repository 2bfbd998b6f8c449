"""A real HTTP reverse proxy on loopback in front of a live Emmaus that answers scripted failures
for chosen chats (a 429 with `Retry-After`, a 503, a 404) before letting their requests through,
or lets one through saying no request budget is left; it logs every `GET /ai/v1/chat` it saw:
which chat, when, and what it answered."""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson


@dataclass(frozen=True, slots=True)
class Fault:
    status: int
    retry_after: str | None = None


@dataclass(slots=True)
class Seen:
    chat_id: str
    at: float  # time.monotonic()
    status: int


@dataclass
class FaultProxy:
    upstream: str
    script: dict[str, list[Fault]] = field(default_factory=lambda: defaultdict(list))
    always: dict[str, Fault] = field(default_factory=dict)  # every request for that chat
    exhausted: dict[str, str] = field(default_factory=dict)  # success, but "no budget left for N s"
    seen: list[Seen] = field(default_factory=list)
    _http: httpx.AsyncClient | None = None

    def requests_for(self, chat_id: str) -> list[Seen]:
        return [s for s in self.seen if s.chat_id == chat_id]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self._http is not None:
                        await self._http.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = parse_qs(scope.get("query_string", b"").decode())
        chat_id = query.get("chat_id", [""])[0]
        if scope["path"] == "/ai/v1/chat" and chat_id:
            fault = self.always.get(chat_id) or (
                self.script[chat_id].pop(0) if self.script.get(chat_id) else None
            )
            if fault is not None:
                self.seen.append(Seen(chat_id, time.monotonic(), fault.status))
                headers = [(b"content-type", b"application/json")]
                if fault.retry_after is not None:
                    headers.append((b"retry-after", fault.retry_after.encode()))
                error = {"error": "Rate limit exceeded", "code": "too_many_requests"}
                await _respond(send, fault.status, orjson.dumps(error), headers)
                return
        if self._http is None:
            self._http = httpx.AsyncClient(base_url=self.upstream, timeout=60)
        forwarded = {
            k.decode(): v.decode()
            for k, v in scope["headers"]
            if k.lower() not in (b"host", b"content-length")
        }
        response = await self._http.request(
            scope["method"],
            scope["path"],
            params=scope.get("query_string", b"").decode(),
            content=body,
            headers=forwarded,
        )
        if scope["path"] == "/ai/v1/chat" and chat_id:
            self.seen.append(Seen(chat_id, time.monotonic(), response.status_code))
        kept = [
            (k.encode(), v.encode())
            for k, v in response.headers.items()
            if k.lower() in ("content-type", "retry-after")
        ]
        if chat_id in self.exhausted:
            kept.append((b"x-ratelimit-remaining-requests", b"0"))
            kept.append((b"x-ratelimit-reset-requests", self.exhausted[chat_id].encode()))
        await _respond(send, response.status_code, response.content, kept)


async def _respond(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
