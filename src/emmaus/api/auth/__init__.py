"""`POST /oauth2/token` and the HTTP side of auth: `install(app)` adds the token route, the
`{"error", "code"}` rendering of auth errors and the rate-limit headers."""

from __future__ import annotations

from fastapi import FastAPI

from emmaus.api.auth.routes import router
from emmaus.auth.errors import AuthError, auth_error_handler
from emmaus.auth.middleware import RateLimitHeaders


def install(app: FastAPI) -> None:
    """Call once while building the app (before it starts)."""
    app.add_exception_handler(AuthError, auth_error_handler)  # type: ignore[arg-type]
    app.add_middleware(RateLimitHeaders)
    app.include_router(router)


__all__ = ["install", "router"]
