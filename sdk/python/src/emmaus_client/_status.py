"""An error response as the right exception. Reads every shape the contract uses: the enriched
`{"error": {code, name, message, retryable}}`, the auth `{"error": text, "code": snake}`, OAuth's
`{"error", "error_description"}` and FastAPI's `{"detail": ...}`."""

from __future__ import annotations

from typing import Any

import httpx

from emmaus_client import errors
from emmaus_client._retry import server_delay


def _parsed(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text or None


def _fields(body: Any) -> tuple[str | None, int | str | None, str | None, bool | None]:
    """(message, code, name, retryable) from whichever error shape `body` is."""
    if not isinstance(body, dict):
        return (body if isinstance(body, str) else None), None, None, None
    error = body.get("error")
    if isinstance(error, dict):
        retryable = error.get("retryable")
        return (
            error.get("message") or _detail_text(body.get("detail")),
            error.get("code"),
            error.get("name"),
            retryable if isinstance(retryable, bool) else None,
        )
    if isinstance(error, str):
        message = body.get("error_description") or error
        return message, body.get("code") or error, None, None
    return _detail_text(body.get("detail")) or body.get("message"), None, None, None


def _detail_text(detail: Any) -> str | None:
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail:
        parts = []
        for item in detail[:5]:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{loc}: {item.get('msg')}" if loc else str(item.get("msg")))
        return "; ".join(parts) or None
    return None


def status_error(response: httpx.Response) -> errors.APIStatusError:
    """The exception for an error response (its body must have been read)."""
    status = response.status_code
    body = _parsed(response)
    message, code, name, retryable = _fields(body)
    kw: dict[str, Any] = {
        "status": status,
        "body": body,
        "code": code,
        "name": name,
        "request_id": response.headers.get("x-request-id"),
    }
    text = message or response.reason_phrase or f"HTTP {status}"
    if status == 401:
        return errors.AuthenticationError(text, **kw)
    if status == 403:
        return errors.PermissionDeniedError(text, **kw)
    if status == 404:
        return errors.NotFoundError(text, **kw)
    if status == 409:
        return errors.ConflictError(text, **kw)
    if status == 429:
        return errors.RateLimitError(text, retry_after=server_delay(response), **kw)
    if status in (400, 413, 422):
        return errors.ValidationError(text, **kw)
    if status == 408 or status >= 500:
        return errors.ProviderError(text, retryable=True if retryable is None else retryable, **kw)
    return errors.APIStatusError(text, **kw)


def stream_error(payload: dict[str, Any]) -> errors.ProviderError:
    """An `error` object that arrived inside a stream (after the 200)."""
    error = payload.get("error")
    if not isinstance(error, dict):
        error = {"message": str(error)}
    retryable = error.get("retryable")
    return errors.ProviderError(
        str(error.get("message") or "the stream failed"),
        status=200,
        body=payload,
        code=error.get("code"),
        name=error.get("name"),
        retryable=True if retryable is None else bool(retryable),
    )
