"""Protected routes over real HTTP: every bad token is a 401 `{"error", "code"}`, a missing scope
a 403, and every admitted or refused request carries the rate-limit headers."""

from __future__ import annotations

import base64
import json
import time

import jwt
import requests

from emmaus.auth.tokens import load_signing_key
from emmaus.config import Settings
from tests.auth.apps import create_client, disable_client
from tests.auth.conftest import Serve
from tests.support.auth import change_client

UNAUTHORIZED = "unauthorized"
HEADERS = (
    "x-ratelimit-limit-requests",
    "x-ratelimit-remaining-requests",
    "x-ratelimit-reset-requests",
    "x-ratelimit-limit-tokens",
    "x-ratelimit-remaining-tokens",
    "x-ratelimit-reset-tokens",
)


def get_token(url: str, client_id: str, secret: str, scope: str = "api/access") -> str:
    response = requests.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def call(url: str, path: str, token: str | None = None, method: str = "GET") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(method, f"{url}{path}", headers=headers, timeout=10)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_missing_authorization(serve: Serve) -> None:
    with serve() as (url, _):
        response = call(url, "/ai/v2/whoami")
        assert response.status_code == 401
        assert response.json() == {
            "error": "Missing Authorization",
            "code": "unauthorized_missing_authorization",
        }
        assert response.headers["www-authenticate"].startswith("Bearer")
        for header in HEADERS:
            assert header not in response.headers  # nobody to count against


def test_public_routes_need_no_token(serve: Serve) -> None:
    with serve() as (url, _):
        assert call(url, "/platform/v2/models").status_code == 200
        assert call(url, "/health").status_code == 200


def _bad_tokens(url: str, settings: Settings, client_id: str, secret: str) -> dict[str, str]:
    good = get_token(url, client_id, secret)
    claims = jwt.decode(good, options={"verify_signature": False})
    header_none = _b64({"alg": "none", "typ": "JWT"})
    header_rs = _b64({"alg": "RS256", "typ": "JWT"})
    signature = good.rsplit(".", 1)[1]
    key = load_signing_key(settings)
    return {
        "forged": jwt.encode(claims, "someone-else's-key-" * 4, algorithm="HS256"),
        "alg-none": f"{header_none}.{_b64(claims)}.",
        "alg-rs256": f"{header_rs}.{_b64(claims)}.{signature}",
        "tampered-scope": ".".join(
            [good.split(".")[0], _b64({**claims, "scope": "api/access admin"}), signature]
        ),
        "malformed": "not-a-jwt",
        "truncated": good[:-5],
        "no-scope": jwt.encode({k: v for k, v in claims.items() if k != "scope"}, key),
        "unknown-client": jwt.encode({**claims, "sub": "emc_x", "client_id": "emc_x"}, key),
    }


def test_untrusted_tokens_are_401(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        for name, token in _bad_tokens(url, settings, client_id, secret).items():
            response = call(url, "/ai/v2/whoami", token)
            assert response.status_code == 401, name
            body = response.json()
            assert set(body) == {"error", "code"}, name
            assert body["code"] == UNAUTHORIZED, name
            assert 'error="invalid_token"' in response.headers["www-authenticate"]
        for header in ("Basic abc", "Bearer", "Bearer    ", "Token abc"):
            response = requests.get(
                f"{url}/ai/v2/whoami", headers={"Authorization": header}, timeout=10
            )
            assert response.status_code == 401, header
            assert response.json()["code"] == UNAUTHORIZED


def test_expired_token_with_short_ttl(serve: Serve) -> None:
    with serve(token_ttl=1, jwt_leeway=0) as (url, settings):
        client_id, secret = create_client(settings)
        token = get_token(url, client_id, secret)
        assert call(url, "/ai/v2/whoami", token).status_code == 200
        time.sleep(2.1)
        response = call(url, "/ai/v2/whoami", token)
        assert response.status_code == 401
        assert response.json() == {"error": "Token expired", "code": "token_expired"}


def test_tokens_survive_a_restart(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        token = get_token(url, client_id, secret)
    with serve() as (url, _):  # same data dir: same key file
        assert call(url, "/ai/v2/whoami", token).status_code == 200


def test_wrong_scope_is_403(serve: Serve) -> None:
    with serve() as (url, settings):
        user_id, user_secret = create_client(settings)
        admin_only_id, admin_only_secret = create_client(settings, scopes="admin")
        user = get_token(url, user_id, user_secret)
        admin_only = get_token(url, admin_only_id, admin_only_secret, scope="admin")
        forbidden = {"error": "Forbidden - insufficient permissions", "code": "forbidden"}
        for path, token in (("/admin/whoami", user), ("/ai/v2/whoami", admin_only)):
            response = call(url, path, token)
            assert response.status_code == 403
            assert response.json() == forbidden
        assert call(url, "/admin/whoami", admin_only).status_code == 200


def test_disabled_client_is_401(serve: Serve) -> None:
    with serve(client_cache_ttl=0) as (url, settings):
        client_id, secret = create_client(settings)
        token = get_token(url, client_id, secret)
        assert call(url, "/ai/v2/whoami", token).status_code == 200
        disable_client(settings, client_id)  # as `emmaus clients disable` would, elsewhere
        response = call(url, "/ai/v2/whoami", token)
        assert response.status_code == 401
        assert response.json()["code"] == UNAUTHORIZED


def test_headers_on_json_streamed_and_failed_responses(serve: Serve) -> None:
    with serve(rate_limit_rpm=10, rate_limit_tpm=5000) as (url, settings):
        client_id, secret = create_client(settings)
        token = get_token(url, client_id, secret)
        ok = call(url, "/ai/v2/whoami", token)
        streamed = call(url, "/ai/v2/stream", token)
        failed = call(url, "/ai/v2/fail", token, method="POST")
        assert (ok.status_code, streamed.status_code, failed.status_code) == (200, 200, 400)
        for response in (ok, streamed, failed):
            for header in HEADERS:
                assert response.headers[header].isdigit(), header
            assert response.headers["x-ratelimit-limit-requests"] == "10"
            assert response.headers["x-ratelimit-limit-tokens"] == "5000"
        remaining = [
            int(r.headers["x-ratelimit-remaining-requests"]) for r in (ok, streamed, failed)
        ]
        assert remaining == [9, 8, 7]
        assert streamed.text == "data: 1\n\ndata: [DONE]\n\n"


def test_failed_requests_count_and_429_shape(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings, rpm=3)  # per-client limit beats the default
        token = get_token(url, client_id, secret)
        assert call(url, "/ai/v2/fail", token, method="POST").status_code == 400
        assert call(url, "/ai/v2/fail", token, method="POST").status_code == 400
        assert call(url, "/ai/v2/both", token).status_code == 200  # two guards, one count
        refused = call(url, "/ai/v2/whoami", token)
        assert refused.status_code == 429
        assert refused.json() == {"error": "Rate limit exceeded", "code": "too_many_requests"}
        retry = int(refused.headers["retry-after"])
        assert 1 <= retry <= 60
        assert int(refused.headers["x-ratelimit-reset"]) == retry
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert refused.headers["x-ratelimit-limit-requests"] == "3"


def test_tokens_per_minute(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings, tpm=100)
        token = get_token(url, client_id, secret)
        spent = call(url, "/ai/v2/spend?n=150", token, method="POST")
        assert spent.status_code == 200
        assert spent.headers["x-ratelimit-remaining-tokens"] == "100"  # admitted before spending
        refused = call(url, "/ai/v2/whoami", token)
        assert refused.status_code == 429
        assert refused.json()["code"] == "too_many_requests"
        assert refused.headers["x-ratelimit-remaining-tokens"] == "0"
        assert 1 <= int(refused.headers["retry-after"]) <= 60


def test_scope_removed_from_client_stops_working(serve: Serve) -> None:
    """A token only carries scopes the client still has: the row is the authority."""
    with serve(client_cache_ttl=0) as (url, settings):
        client_id, secret = create_client(settings, scopes="api/access admin")
        token = get_token(url, client_id, secret, scope="api/access admin")
        assert call(url, "/admin/whoami", token).status_code == 200
        change_client(settings, lambda repo: repo.set_scopes(client_id, "api/access"))
        assert call(url, "/admin/whoami", token).status_code == 403
        assert call(url, "/ai/v2/whoami", token).status_code == 200
