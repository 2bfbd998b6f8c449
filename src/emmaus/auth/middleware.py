"""Adds the rate-limit headers to every response of an admitted (or refused) request, including
streamed ones and error responses, which a FastAPI `Response` parameter would miss; and once the
response is over, settles the tokens the request reserved with what its model calls used."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emmaus.auth.ratelimit import RateLimitDecision, RateLimiter, RateLimiterUnavailable

log = logging.getLogger(__name__)

SCOPE_KEY = "emmaus.ratelimit"
USAGE_KEY = "emmaus.usage"
HEADERS_KEY = "emmaus.headers"  # more headers for the response (the budgets')


@dataclass(slots=True)
class TokenUsage:
    """One request's tokens: the reservation made at admission and what was really used.
    `charge` runs as soon as a call reports its usage; the middleware charges once more when
    the response is over, which settles a reservation no call used (a failure, a hang-up)."""

    limiter: RateLimiter | None = None
    key: str | None = None
    reservation: str | None = None
    used: int = 0
    charged: int = 0

    async def charge(self) -> None:
        if self.limiter is None or self.key is None:
            return
        reservation, fresh = self.reservation, self.used - self.charged
        self.reservation, self.charged = None, self.used
        try:
            if reservation is not None:
                await self.limiter.settle(self.key, reservation, self.used)
            elif fresh > 0:
                await self.limiter.record_tokens(self.key, fresh)
        except RateLimiterUnavailable as exc:
            log.warning("could not charge %s tokens to %s: %s", fresh, self.key, exc)


def usage_of(scope: Scope) -> TokenUsage | None:
    usage = scope.get(USAGE_KEY)
    return usage if isinstance(usage, TokenUsage) else None


def add_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers the response will carry, whatever route or error answers it."""
    extra = scope.get(HEADERS_KEY)
    if isinstance(extra, dict):
        extra.update(headers)


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
        usage = TokenUsage()
        scope[USAGE_KEY] = usage
        more: dict[str, str] = {}
        scope[HEADERS_KEY] = more

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and (holder or more):
                present = {name.lower() for name, _ in message.get("headers", [])}
                wanted = {**holder[0].headers(), **more} if holder else more
                extra = [
                    (name.lower().encode(), value.encode())
                    for name, value in wanted.items()
                    if name.lower().encode() not in present
                ]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            await usage.charge()
