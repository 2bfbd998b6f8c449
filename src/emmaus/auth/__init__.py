"""OAuth2 client credentials, bearer-token checks, per-client isolation and rate limits."""

from emmaus.auth.bootstrap import bootstrap, ensure_bootstrap_client
from emmaus.auth.clients import (
    KNOWN_SCOPES,
    SCOPE_ADMIN,
    SCOPE_API,
    Client,
    ClientNotFound,
    ClientRepository,
)
from emmaus.auth.dependencies import (
    AuthContext,
    require_admin,
    require_api_access,
    require_scope,
    reserve_tokens,
)
from emmaus.auth.errors import AuthError
from emmaus.auth.ratelimit import MemoryRateLimiter, RateLimitDecision, RateLimiter
from emmaus.auth.runtime import AuthRuntime, build_limiter
from emmaus.auth.tokens import TokenService
from emmaus.auth.wiring import usage_hook

__all__ = [
    "KNOWN_SCOPES",
    "SCOPE_ADMIN",
    "SCOPE_API",
    "AuthContext",
    "AuthError",
    "AuthRuntime",
    "Client",
    "ClientNotFound",
    "ClientRepository",
    "MemoryRateLimiter",
    "RateLimitDecision",
    "RateLimiter",
    "TokenService",
    "bootstrap",
    "build_limiter",
    "ensure_bootstrap_client",
    "require_admin",
    "require_api_access",
    "require_scope",
    "reserve_tokens",
    "usage_hook",
]
