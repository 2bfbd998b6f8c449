"""How long to wait before trying a request again: what the server asked for (`Retry-After`,
in seconds or as an HTTP date, or Gloo's `X-RateLimit-Reset`), else exponential backoff with
jitter. Retried: connection errors, 408, 429 and 5xx; never another 4xx."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    retries: int = 5  # attempts after the first
    base: float = 0.5  # seconds before the first retry, doubled each time
    cap: float = 60.0  # the longest backoff
    max_wait: float = 300.0  # the longest wait a server may ask for

    def backoff(self, attempt: int) -> float:
        """Full jitter between half and all of `base * 2^attempt` (attempt counts from 0)."""
        delay = min(self.cap, self.base * 2**attempt)
        return delay / 2 + random.uniform(0, delay / 2)

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        asked = server_wait(response) if response is not None else None
        if asked is None:
            return self.backoff(attempt)
        return min(self.max_wait, asked)


def budget_wait(response: httpx.Response) -> float | None:
    """After a success: the seconds until the request budget comes back, when the server says
    none is left (`x-ratelimit-remaining-requests: 0` with `x-ratelimit-reset-requests`), so
    the next request waits instead of drawing a 429."""
    remaining = response.headers.get("x-ratelimit-remaining-requests")
    reset = response.headers.get("x-ratelimit-reset-requests")
    if remaining is None or reset is None:
        return None
    try:
        return float(reset) if int(remaining) <= 0 else None
    except ValueError:
        return None


def server_wait(response: httpx.Response) -> float | None:
    """Seconds the server asked to wait, if it said."""
    retry_after = response.headers.get("retry-after")
    if retry_after:
        retry_after = retry_after.strip()
        if retry_after.isdigit():
            return float(retry_after)
        try:
            return max(0.0, parsedate_to_datetime(retry_after).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            value = float(reset)
        except ValueError:
            return None
        # Epoch seconds or a delta: Gloo does not say which; a value past 2001 is a time.
        return max(0.0, value - time.time()) if value > 1e9 else value
    return None
