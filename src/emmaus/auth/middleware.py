"""Adds the rate-limit headers to every response of an admitted (or refused) request, including
streamed ones and error responses, which a FastAPI `Response` parameter would miss."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emmaus.auth.ratelimit import RateLimitDecision

SCOPE_KEY = "emmaus.ratelimit"


def attach_decision(scope: Scope, decision: RateLimitDecision) -> None:
    """Called by the auth dependency once the request has been counted."""
    holder = scope.get(SCOPE_KEY)
    if isinstance(holder, list):
        holder[:] = [decision]


class RateLimitHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        holder: list[RateLimitDecision] = []
        scope[SCOPE_KEY] = holder  # a shared object: survives Starlette's scope copies

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and holder:
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in holder[0].headers().items()
                    if name.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
