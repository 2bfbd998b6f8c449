"""Per-client rate limits: requests per minute and tokens per minute, over a sliding 60 s window.

Admission is exact: every admitted request is logged with its time, and a request is admitted only
while fewer than `rpm` were admitted in the last 60 s, so N parallel requests never let a client
past its limit, even across instances (the Redis back end does check-and-record in one Lua
script, timed by the Redis server's clock). Failed requests count: admission happens before the
work. Tokens: admission needs tokens used in the window < `tpm`; a model call then `reserve`s an
estimate (prompt plus requested output) in the same atomic step, and `settle` replaces the
estimate with what the call really used, so a burst overshoots by one reservation at most.
`record_tokens(key, n)` adds tokens with no reservation.

Headers (all integers; "reset" values are seconds from now, rounded up):
`x-ratelimit-limit-requests`, `x-ratelimit-remaining-requests`, `x-ratelimit-reset-requests`
(until the whole request budget is back), the same three for `-tokens`, and on a 429
`Retry-After` and `X-RateLimit-Reset` (until one more request would be admitted).
A limit of 0 or None means unlimited; its headers are then left out.
"""

from __future__ import annotations

import math
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

WINDOW_SECONDS = 60.0


class RateLimiterUnavailable(Exception):
    """The shared back end (Redis) cannot be reached; requests are refused, not let through."""


@dataclass(frozen=True, slots=True)
class RateLimitDecision:
    allowed: bool
    limit_requests: int | None
    remaining_requests: int | None
    reset_requests: float
    limit_tokens: int | None
    remaining_tokens: int | None
    reset_tokens: float
    retry_after: float = 0.0
    exceeded: str | None = None  # "requests" or "tokens" when refused
    reservation: str | None = None  # what `reserve` recorded, for `settle`

    @property
    def retry_after_seconds(self) -> int:
        return max(1, math.ceil(self.retry_after))

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.limit_requests:
            headers["x-ratelimit-limit-requests"] = str(self.limit_requests)
            headers["x-ratelimit-remaining-requests"] = str(self.remaining_requests or 0)
            headers["x-ratelimit-reset-requests"] = str(math.ceil(self.reset_requests))
        if self.limit_tokens:
            headers["x-ratelimit-limit-tokens"] = str(self.limit_tokens)
            headers["x-ratelimit-remaining-tokens"] = str(self.remaining_tokens or 0)
            headers["x-ratelimit-reset-tokens"] = str(math.ceil(self.reset_tokens))
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after_seconds)
            headers["X-RateLimit-Reset"] = str(self.retry_after_seconds)
        return headers


def decide(
    *,
    admitted: bool,
    rpm: int | None,
    tpm: int | None,
    count: int,
    used: int,
    reset_requests: float,
    reset_tokens: float,
    retry_after: float,
    exceeded: str | None,
    reservation: str | None = None,
) -> RateLimitDecision:
    return RateLimitDecision(
        allowed=admitted,
        limit_requests=rpm or None,
        remaining_requests=max(0, rpm - count) if rpm else None,
        reset_requests=max(0.0, reset_requests),
        limit_tokens=tpm or None,
        remaining_tokens=max(0, tpm - used) if tpm else None,
        reset_tokens=max(0.0, reset_tokens),
        retry_after=max(0.0, retry_after),
        exceeded=exceeded,
        reservation=reservation,
    )


class RateLimiter(Protocol):
    async def acquire(self, key: str, rpm: int | None, tpm: int | None = None) -> RateLimitDecision:
        """Admit one request for `key` (and log it) or refuse it."""
        ...

    async def record_tokens(self, key: str, tokens: int) -> None:
        """Add tokens a finished request used to `key`'s token window."""
        ...

    async def reserve(self, key: str, tpm: int, tokens: int) -> RateLimitDecision:
        """While `key` used fewer than `tpm` tokens in the window, hold `tokens` for a call
        about to run (atomically with the check); else refuse. Counts no request."""
        ...

    async def settle(self, key: str, reservation: str, tokens: int) -> None:
        """Replace a reservation by the tokens the call used (0: it used none)."""
        ...

    async def aclose(self) -> None: ...


class MemoryRateLimiter:
    """One process. Atomic because `acquire` never awaits between checking and recording."""

    SWEEP_EVERY = 1024

    def __init__(
        self, window: float = WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window = window
        self._clock = clock
        self._requests: dict[str, deque[float]] = {}
        self._tokens: dict[str, deque[list[float | int | str]]] = {}  # [time, tokens, member]
        self._used: dict[str, int] = {}
        self._calls = 0

    def _prune(self, key: str, now: float) -> None:
        horizon = now - self.window
        requests = self._requests.get(key)
        while requests and requests[0] <= horizon:
            requests.popleft()
        tokens = self._tokens.get(key)
        while tokens and float(tokens[0][0]) <= horizon:
            self._used[key] -= int(tokens.popleft()[1])

    def _sweep(self, now: float) -> None:
        """Forget idle keys (token-endpoint limits are keyed by IP: unbounded otherwise)."""
        for key in list(self._requests.keys() | self._tokens.keys()):
            self._prune(key, now)
            if not self._requests.get(key) and not self._tokens.get(key):
                self._requests.pop(key, None)
                self._tokens.pop(key, None)
                self._used.pop(key, None)

    async def acquire(self, key: str, rpm: int | None, tpm: int | None = None) -> RateLimitDecision:
        now = self._clock()
        self._calls += 1
        if self._calls % self.SWEEP_EVERY == 0:
            self._sweep(now)
        self._prune(key, now)
        requests = self._requests.setdefault(key, deque())
        tokens = self._tokens.get(key, deque())
        used = self._used.get(key, 0)
        retry_after, exceeded = 0.0, None
        if rpm and len(requests) >= rpm:
            exceeded = "requests"
            retry_after = requests[len(requests) - rpm] + self.window - now
        elif tpm and used >= tpm:
            exceeded = "tokens"
            retry_after = self._tokens_free_in(tokens, used, tpm, now)
        else:
            requests.append(now)
        return decide(
            admitted=exceeded is None,
            rpm=rpm,
            tpm=tpm,
            count=len(requests),
            used=used,
            # window - age, not stamp + window - now: the latter rounds 60.0 up to 61 at times.
            reset_requests=self.window - (now - requests[-1]) if requests else 0.0,
            reset_tokens=self.window - (now - float(tokens[-1][0])) if tokens else 0.0,
            retry_after=retry_after,
            exceeded=exceeded,
        )

    def _tokens_free_in(
        self, tokens: deque[list[float | int | str]], used: int, tpm: int, now: float
    ) -> float:
        """Seconds until enough token records leave the window to admit again."""
        freed = 0
        for stamp, amount, _ in tokens:
            freed += int(amount)
            if used - freed < tpm:
                return float(stamp) + self.window - now
        return self.window

    async def record_tokens(self, key: str, tokens: int) -> None:
        if tokens <= 0:
            return
        self._tokens.setdefault(key, deque()).append([self._clock(), tokens, ""])
        self._used[key] = self._used.get(key, 0) + tokens

    async def reserve(self, key: str, tpm: int, tokens: int) -> RateLimitDecision:
        now = self._clock()
        self._prune(key, now)
        records = self._tokens.setdefault(key, deque())
        used = self._used.get(key, 0)
        requests = self._requests.get(key) or ()
        common = {"rpm": None, "tpm": tpm, "count": len(requests), "reset_requests": 0.0}
        if used >= tpm:
            retry = self._tokens_free_in(records, used, tpm, now)
            reset = self.window - (now - float(records[-1][0])) if records else 0.0
            return decide(
                admitted=False, used=used, reset_tokens=reset, retry_after=retry,
                exceeded="tokens", **common,
            )  # fmt: skip
        member = new_member()
        records.append([now, max(0, tokens), member])
        self._used[key] = used + max(0, tokens)
        return decide(
            admitted=True, used=used + max(0, tokens), reset_tokens=self.window,
            retry_after=0.0, exceeded=None, reservation=member, **common,
        )  # fmt: skip

    async def settle(self, key: str, reservation: str, tokens: int) -> None:
        for record in self._tokens.get(key, ()):
            if record[2] == reservation:
                self._used[key] += max(0, tokens) - int(record[1])
                record[1] = max(0, tokens)
                return
        await self.record_tokens(key, tokens)  # the reservation left the window already

    async def aclose(self) -> None:
        self._requests.clear()
        self._tokens.clear()
        self._used.clear()


def new_member() -> str:
    return uuid.uuid4().hex
