"""The SDK's exceptions, one class per thing a caller handles differently. Every HTTP error
keeps the status, the parsed body and, when the server said so, the numeric and symbolic codes
of the contract's enriched error object (`{"error": {"code", "name", "message", "retryable"}}`)
or the auth shape (`{"error": "...", "code": "snake_case"}`)."""

from __future__ import annotations

from typing import Any


class EmmausError(Exception):
    """Base of every error the SDK raises."""


class APIConnectionError(EmmausError):
    """The server could not be reached, or the connection broke (after the retries)."""


class APITimeoutError(APIConnectionError):
    pass


class APIStatusError(EmmausError):
    """The server answered with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        code: int | str | None = None,
        name: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.code = code  # the numeric code (enriched errors) or the snake_case one (auth)
        self.name = name  # the symbolic code, e.g. PROVIDER_TIMEOUT
        self.request_id = request_id

    def __str__(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"{self.status}{label}: {self.message}"


class AuthenticationError(APIStatusError):
    """401: wrong credentials, or a token the server refused even after a renewal."""


class PermissionDeniedError(APIStatusError):
    """403: the token's scopes do not cover this route."""


class NotFoundError(APIStatusError):
    """404: no such chat, message, response, model ... for this client."""


class ConflictError(APIStatusError):
    """409: e.g. a library quota, or an Idempotency-Key still being answered."""


class ValidationError(APIStatusError):
    """400 or 422: the request was refused as written; sending it again will not help."""


class RateLimitError(APIStatusError):
    """429: a rate limit or a budget. `retry_after` is what the server asked for, in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ProviderError(APIStatusError):
    """The model (or the server in front of it) failed: 408, 5xx, or an error event in the
    middle of a stream (then `status` is 200). `retryable` says whether trying again may work."""

    def __init__(self, message: str, *, retryable: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retryable = retryable


class StreamInterrupted(ProviderError):
    """A stream ended without its final event (the connection dropped). Possibly transient."""
