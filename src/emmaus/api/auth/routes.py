"""`POST /oauth2/token`: the OAuth2 client-credentials grant (RFC 6749 §4.4, spec §1.1-1.2).

Credentials come by HTTP Basic (each part form-urlencoded, RFC 6749 §2.3.1) or as `client_id` /
`client_secret` form fields. The endpoint is itself rate limited per source IP and per client id,
and every attempt counts, so secrets cannot be guessed at speed.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from emmaus.auth.clients import SCOPE_API
from emmaus.auth.dependencies import auth_runtime
from emmaus.auth.ratelimit import RateLimitDecision, RateLimiterUnavailable
from emmaus.auth.runtime import TOKEN_ENDPOINT_FAILURES, TOKEN_ENDPOINT_IP, AuthRuntime
from emmaus.auth.secrets import MAX_CLIENT_ID_LENGTH
from emmaus.observability import metrics

router = APIRouter(tags=["auth"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_FORM = "application/x-www-form-urlencoded"


class _OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        self.status, self.error, self.description = status, error, description


def _oauth_error(exc: _OAuthError, request: Request) -> Response:
    headers = dict(_NO_STORE)
    # A script (Swagger UI's "Authorize" sends X-Requested-With) reads the 401 itself; with a
    # Basic challenge the browser would stop it and pop up its own login box instead.
    scripted = request.headers.get("x-requested-with", "").lower() == "xmlhttprequest"
    if exc.status == 401 and not scripted:
        headers["WWW-Authenticate"] = 'Basic realm="emmaus", charset="UTF-8"'
    body = {"error": exc.error, "error_description": exc.description}
    return JSONResponse(body, exc.status, headers=headers)


def _too_many(decision: RateLimitDecision) -> Response:
    metrics.rate_limited("token_endpoint")
    headers = {**_NO_STORE, **decision.headers()}
    body = {"error": "Rate limit exceeded", "code": "too_many_requests"}
    return JSONResponse(body, 429, headers=headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _OAuthError(400, "invalid_request", "malformed Basic credentials") from exc
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise _OAuthError(400, "invalid_request", "malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def _credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization")
    basic = _basic_credentials(header) if header else None
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None:
        # RFC 6749 §2.3: one authentication method per request (a matching client_id is fine).
        if form_secret is not None or (form_id is not None and form_id != basic[0]):
            raise _OAuthError(400, "invalid_request", "use either HTTP Basic or form credentials")
        return basic
    if not form_id or form_secret is None:
        raise _OAuthError(401, "invalid_client", "client authentication is required")
    return form_id, form_secret


def _plausible(client_id: str) -> str:
    # Bounded before it becomes a rate-limit key or a database lookup.
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH or "\x00" in client_id:
        raise _OAuthError(401, "invalid_client", "client authentication failed")
    return client_id


async def _read_form(request: Request) -> dict[str, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM:
        raise _OAuthError(400, "invalid_request", f"Content-Type must be {_FORM}")
    form = await request.form()
    values: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            raise _OAuthError(400, "invalid_request", "unexpected file upload")
        if key in values:
            raise _OAuthError(400, "invalid_request", f"parameter {key!r} repeated")
        values[key] = value
    return values


async def _admit(runtime: AuthRuntime, key: str, rpm: int) -> Response | None:
    if not rpm:
        return None
    decision = await runtime.limiter.acquire(key, rpm)
    return None if decision.allowed else _too_many(decision)


async def _failures_left(runtime: AuthRuntime, key: str, limit: int) -> Response | None:
    """Refuses a source that failed `limit` times in the window. Failures are counted as the
    limiter's tokens (shared across instances like every limit); attempts do not count."""
    if not limit:
        return None
    decision = await runtime.limiter.acquire(key, None, limit)
    return None if decision.allowed else _too_many(decision)


@router.post(
    "/oauth2/token",
    summary="OAuth2 client credentials: exchange a client id and secret for a bearer token",
    response_description='{"access_token": "...", "expires_in": 3600, "token_type": "Bearer"}',
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                _FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["grant_type"],
                        "properties": {
                            "grant_type": {"type": "string", "enum": ["client_credentials"]},
                            "scope": {"type": "string", "default": SCOPE_API},
                            "client_id": {"type": "string"},
                            "client_secret": {"type": "string", "format": "password"},
                        },
                    }
                }
            },
        }
    },
)
async def token(request: Request) -> Response:
    runtime = auth_runtime(request)
    settings = runtime.settings
    try:
        ip = request.client.host if request.client else "unknown"
        if refused := await _admit(runtime, TOKEN_ENDPOINT_IP + ip, settings.token_endpoint_ip_rpm):
            return refused
        form = await _read_form(request)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise _OAuthError(400, "invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise _OAuthError(400, "unsupported_grant_type", "only client_credentials is supported")
        client_id, secret = _credentials(request, form)
        client_id = _plausible(client_id)
        # Wrong secrets slow the address that sends them, never the client everywhere: ids are
        # not secret (every token carries one), so a lockout per id would be a denial of service.
        failures = f"{TOKEN_ENDPOINT_FAILURES}{ip}:{client_id}"
        limit = settings.token_endpoint_client_rpm
        if refused := await _failures_left(runtime, failures, limit):
            return refused
        client = await runtime.clients.authenticate(client_id, secret)
        if client is None:
            if limit:
                await runtime.limiter.record_tokens(failures, 1)
            raise _OAuthError(401, "invalid_client", "client authentication failed")
        requested = frozenset((form.get("scope") or SCOPE_API).split())
        if not requested <= client.scopes:
            raise _OAuthError(400, "invalid_scope", "scope exceeds what the client was granted")
        issued = runtime.tokens.issue(client.id, requested)
    except _OAuthError as exc:
        return _oauth_error(exc, request)
    except RateLimiterUnavailable:
        body = {"error": "Rate limiter unavailable", "code": "service_unavailable"}
        return JSONResponse(body, 503, headers={**_NO_STORE, "Retry-After": "1"})
    body = {
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "token_type": "Bearer",
    }
    return JSONResponse(body, headers=_NO_STORE)
