"""Auth and rate-limit failures, rendered as `{"error": <text>, "code": <snake_case>}` (spec §1.3,
§8.1). They subclass Starlette's HTTPException with a dict `detail`, so any handler that renders a
dict detail as the body (ours, or the app's) produces the same shape."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from emmaus.auth.ratelimit import RateLimitDecision

_BEARER = "Bearer"


class AuthError(HTTPException):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status, detail={"error": message, "code": code}, headers=headers)
        self.code = code
        self.message = message


def missing_authorization() -> AuthError:
    return AuthError(
        401,
        "unauthorized_missing_authorization",
        "Missing Authorization",
        {"WWW-Authenticate": _BEARER},
    )


def unauthorized(message: str, code: str = "unauthorized") -> AuthError:
    challenge = f'{_BEARER} error="invalid_token", error_description="{message}"'
    return AuthError(401, code, message, {"WWW-Authenticate": challenge.replace("\n", " ")})


def forbidden() -> AuthError:
    return AuthError(403, "forbidden", "Forbidden - insufficient permissions")


def rate_limited(decision: RateLimitDecision) -> AuthError:
    from emmaus.observability import metrics  # here: `emmaus clients` never loads Prometheus

    metrics.rate_limited(decision.exceeded or "requests")
    return AuthError(429, "too_many_requests", "Rate limit exceeded", decision.headers())


def budget_exceeded(message: str, headers: dict[str, str], retry_after: int) -> AuthError:
    from emmaus.observability import metrics

    metrics.rate_limited("budget")
    return AuthError(429, "budget_exceeded", message, {**headers, "Retry-After": str(retry_after)})


def limiter_unavailable() -> AuthError:
    return AuthError(503, "service_unavailable", "Rate limiter unavailable", {"Retry-After": "1"})


async def auth_error_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthError)
    return JSONResponse(exc.detail, exc.status_code, headers=exc.headers)
