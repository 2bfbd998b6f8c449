"""FastAPI dependencies: `Depends(require_scope("api/access"))` authenticates the bearer token,
checks the scope, and admits the request against the client's rate limits."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cache

from fastapi import Depends, Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials
from fastapi.openapi.models import OAuthFlows as OAuthFlowsModel
from fastapi.security import OAuth2

from emmaus.auth import errors
from emmaus.auth.clients import SCOPE_ADMIN, SCOPE_API
from emmaus.auth.middleware import add_headers, attach_decision, usage_of
from emmaus.auth.ratelimit import RateLimiter, RateLimiterUnavailable
from emmaus.auth.runtime import AuthRuntime
from emmaus.auth.tokens import TokenError


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Who is calling. Services scope every stored object by `client_id`."""

    client_id: str
    scopes: frozenset[str]
    rpm: int | None
    tpm: int | None
    limiter: RateLimiter = field(repr=False, compare=False)
    routing_preference: str | None = None  # the client's default for auto-routing

    async def record_tokens(self, tokens: int) -> None:
        """Charge tokens a completion used to this client's tokens-per-minute window."""
        await self.limiter.record_tokens(self.client_id, tokens)


def auth_runtime(request: Request) -> AuthRuntime:
    runtime: AuthRuntime = request.app.state.auth
    return runtime


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise errors.missing_authorization()
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise errors.unauthorized("Authorization must be 'Bearer <token>'")
    return token


async def _admit(request: Request, required: frozenset[str]) -> AuthContext:
    admitted: AuthContext | None = getattr(request.state, "auth", None)
    if admitted is not None:  # a second guard on the same request: count it once
        if not required <= admitted.scopes:
            raise errors.forbidden()
        return admitted
    runtime = auth_runtime(request)
    try:
        claims = runtime.tokens.verify(_bearer(request))
    except TokenError as exc:
        raise errors.unauthorized(exc.message, exc.code) from exc
    client = await runtime.clients.get_cached(claims.client_id)
    if client is None or not client.active:
        raise errors.unauthorized("Client is disabled or unknown")
    # A scope taken away from the client stops working before its tokens expire.
    scopes = claims.scopes & client.scopes
    if not required <= scopes:
        raise errors.forbidden()
    rpm, tpm = runtime.limits_for(client)
    try:
        decision = await runtime.limiter.acquire(client.id, rpm, tpm)
    except RateLimiterUnavailable as exc:
        raise errors.limiter_unavailable() from exc
    attach_decision(request.scope, decision)
    request.state.rate_limit = decision
    if not decision.allowed:
        raise errors.rate_limited(decision)
    context = AuthContext(client.id, scopes, rpm, tpm, runtime.limiter, client.routing_preference)
    request.state.auth = context
    return context


# The OAuth2 client-credentials scheme the OpenAPI document declares: Swagger UI's "Authorize"
# exchanges a client id and secret at the token endpoint for a bearer token.
CLIENT_CREDENTIALS = OAuth2(
    flows=OAuthFlowsModel(
        clientCredentials=OAuthFlowClientCredentials(
            tokenUrl="/oauth2/token",
            scopes={
                SCOPE_API: "Every /ai/** route",
                SCOPE_ADMIN: "Admin routes: /metrics, every client's usage",
            },
        )
    ),
    scheme_name="oauth2",
    description="OAuth2 client credentials: exchange a client id and secret (HTTP Basic or "
    "form fields) at /oauth2/token for a bearer token. `emmaus serve` prints the first "
    "client's on its first start; `emmaus clients create` makes more.",
    auto_error=False,
)


@cache
def require_scope(*scopes: str) -> Callable[[Request], Awaitable[AuthContext]]:
    """A dependency admitting callers whose token carries every scope in `scopes`.

    The same function object comes back for the same scopes, so FastAPI runs it once per
    request even when a router and a route both declare it.
    """
    required = frozenset(scopes)
    # Only for the OpenAPI document (each route's security requirement); `_admit` reads the
    # header itself, so the dependency may also be awaited directly with the request alone.
    documented = Security(CLIENT_CREDENTIALS, scopes=sorted(required))

    async def dependency(request: Request, _scheme: str | None = documented) -> AuthContext:
        return await _admit(request, required)

    dependency.__name__ = f"require_scope_{'_'.join(sorted(required)) or 'any'}".replace("/", "_")
    return dependency


require_api_access = require_scope(SCOPE_API)
require_admin = require_scope(SCOPE_ADMIN)

# The output a request asks for ("max_tokens": 200); v1's character_limit is ~3 characters a token.
_OUTPUT = re.compile(rb'"(max_tokens|max_completion_tokens|max_output_tokens)"\s*:\s*(\d{1,9})')
_CHARACTERS = re.compile(rb'"character_limit"\s*:\s*(\d{1,9})')


def estimate_tokens(body: bytes, default_output: int) -> int:
    """What a model call will cost, before it runs: the body's text (~4 bytes a token) plus
    the output it asks for (else `default_output`). Reconciled with the real usage after."""
    output = default_output
    if found := _OUTPUT.search(body):
        output = int(found.group(2))
    elif found := _CHARACTERS.search(body):
        output = int(found.group(1)) // 3 + 16
    return len(body) // 4 + 1 + output


async def reserve_tokens(
    request: Request, context: AuthContext = Depends(require_api_access)
) -> None:
    """For routes that call a model: hold an estimate of the call's tokens against the
    client's tokens-per-minute budget, atomically with the check, so parallel requests cannot
    all pass a budget none of them has charged yet. First, the client's monthly budgets."""
    await _within_budget(request, context)
    usage = usage_of(request.scope)
    if not context.tpm or usage is None:
        return
    runtime = auth_runtime(request)
    estimate = estimate_tokens(await request.body(), runtime.settings.tpm_reserve_output)
    try:
        decision = await context.limiter.reserve(context.client_id, context.tpm, estimate)
    except RateLimiterUnavailable as exc:
        raise errors.limiter_unavailable() from exc
    if not decision.allowed:
        raise errors.rate_limited(decision)
    usage.limiter, usage.key, usage.reservation = (
        context.limiter,
        context.client_id,
        decision.reservation,
    )


async def _within_budget(request: Request, context: AuthContext) -> None:
    """`app.state.budgets` (the usage budgets, when the app has them): a 429
    `budget_exceeded` once a monthly budget is spent, and `x-budget-*` headers (a warning past
    80%) on the response otherwise."""
    budgets = getattr(request.app.state, "budgets", None)
    if budgets is None:
        return
    try:
        verdict = await budgets.admit(context.client_id)
    except Exception as exc:  # Redis or the database away: refuse, as the limiter does
        raise errors.limiter_unavailable() from exc
    if verdict is None:
        return
    if not verdict.allowed:
        raise errors.budget_exceeded(verdict.message(), verdict.headers(), verdict.retry_after)
    add_headers(request.scope, verdict.headers())
