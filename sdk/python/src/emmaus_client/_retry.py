"""When to try a request again and how long to wait: exponential backoff with full jitter,
`Retry-After` (seconds or an HTTP date) and `X-RateLimit-Reset` honoured, never past `max_delay`."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Refused before anything was done: worth a retry even for a request that is not idempotent.
NOT_PROCESSED = frozenset({429})
IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"  # a 409: the first try of this key is still running


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`max_retries` tries after the first; the n-th waits a random time in
    [0, min(max_delay, base_delay * 2**n)], or what the server asked for when it said."""

    max_retries: int = 3
    base_delay: float = 0.5
    max_delay: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        asked = server_delay(response) if response is not None else None
        if asked is not None:
            return min(self.max_delay, asked)
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return random.uniform(0, ceiling)


def retryable_status(response: httpx.Response, *, idempotent: bool) -> bool:
    """408, 429 and 5xx may be retried; no other 4xx, except a 409 saying the first request
    with this Idempotency-Key is still being answered (the retry then gets its result). A
    request that could store something twice is retried only when it was refused unprocessed."""
    status = response.status_code
    if status == 409:
        return idempotent and _error_name(response) == IN_PROGRESS
    if status not in RETRY_STATUSES:
        return False
    return idempotent or status in NOT_PROCESSED


def retryable_exception(exc: httpx.TransportError, *, idempotent: bool) -> bool:
    """Connection errors are retried; a request that may store something twice only when it
    never reached the server (the connection could not be made)."""
    if idempotent:
        return True
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def server_delay(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait: `Retry-After` (delta or HTTP date), else
    `X-RateLimit-Reset` (a delta, or epoch seconds when it is that large)."""
    value = response.headers.get("retry-after")
    if value:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
            except (TypeError, ValueError, IndexError):
                pass
    reset = response.headers.get("x-ratelimit-reset")
    if reset:
        try:
            number = float(reset)
        except ValueError:
            return None
        return max(0.0, number - time.time()) if number > 1e9 else max(0.0, number)
    return None


def _error_name(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("name") if isinstance(error, dict) else None
