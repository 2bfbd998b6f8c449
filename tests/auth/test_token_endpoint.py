"""`POST /oauth2/token` over real HTTP, the way Gloo's tutorial and cookbook call it."""

from __future__ import annotations

import base64
import socket
import time
from urllib.parse import quote, urlsplit

import httpx
import jwt
import pytest
import requests

from emmaus.api.common.server import server_options
from emmaus.auth.tokens import load_signing_key
from emmaus.config import Settings
from tests.auth.apps import create_client, disable_client
from tests.auth.conftest import Serve

EXACT = {"access_token", "expires_in", "token_type"}


def test_basic_auth_like_the_tutorial(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        response = requests.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials", "scope": "api/access"},
            auth=(client_id, secret),
            timeout=10,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == EXACT
        assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
        assert response.headers["cache-control"] == "no-store"
        claims = jwt.decode(
            body["access_token"], load_signing_key(settings), algorithms=["HS256"], issuer="emmaus"
        )
        assert claims["sub"] == claims["client_id"] == client_id
        assert claims["scope"] == "api/access"
        assert claims["exp"] - claims["iat"] == 3600

        who = requests.get(
            f"{url}/ai/v2/whoami",
            headers={"Authorization": f"Bearer {body['access_token']}"},
            timeout=10,
        )
        assert who.status_code == 200
        assert who.json() == {"client_id": client_id, "scopes": ["api/access"]}


def test_form_fields_like_the_cookbook(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        response = requests.post(
            f"{url}/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert set(response.json()) == EXACT


def test_basic_parts_are_form_url_decoded(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        encoded_id = "%" + format(ord(client_id[0]), "02X") + quote(client_id[1:], safe="")
        raw = base64.b64encode(f"{encoded_id}:{quote(secret, safe='')}".encode()).decode()
        response = requests.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {raw}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text


def test_scopes(serve: Serve) -> None:
    with serve() as (url, settings):
        admin_id, admin_secret = create_client(settings, scopes="api/access admin")
        user_id, user_secret = create_client(settings)

        def token(auth: tuple[str, str], scope: str | None) -> requests.Response:
            data = {"grant_type": "client_credentials"}
            if scope is not None:
                data["scope"] = scope
            return requests.post(f"{url}/oauth2/token", data=data, auth=auth, timeout=10)

        default = token((admin_id, admin_secret), None).json()["access_token"]
        assert jwt.decode(default, options={"verify_signature": False})["scope"] == "api/access"
        both = token((admin_id, admin_secret), "api/access admin").json()["access_token"]
        admin = requests.get(
            f"{url}/admin/whoami", headers={"Authorization": f"Bearer {both}"}, timeout=10
        )
        assert admin.status_code == 200

        for auth, scope in (((user_id, user_secret), "admin"), ((admin_id, admin_secret), "x")):
            refused = token(auth, scope)
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({}, "good", 400, "invalid_request"),
        ({"grant_type": "password"}, "good", 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, None, 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "wrong", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "unknown", 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_secret": "s"},
            "good",
            400,
            "invalid_request",
        ),
        ({"grant_type": "client_credentials", "client_id": "emc_x"}, None, 401, "invalid_client"),
    ],
)
def test_token_errors_follow_rfc6749(
    serve: Serve, data: dict[str, str], auth: str | None, status: int, error: str
) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        credentials = {
            "good": (client_id, secret),
            "wrong": (client_id, secret[:-1] + ("A" if secret[-1] != "A" else "B")),
            "unknown": ("emc_" + "x" * 24, secret),
            None: None,
        }[auth]
        response = requests.post(f"{url}/oauth2/token", data=data, auth=credentials, timeout=10)
        assert response.status_code == status, response.text
        assert response.json()["error"] == error
        assert response.headers["cache-control"] == "no-store"
        if status == 401:
            assert response.headers["www-authenticate"].startswith("Basic")


def test_malformed_requests(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        as_json = requests.post(
            f"{url}/oauth2/token",
            json={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=10,
        )
        assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")
        bad_basic = requests.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic !!!not-base64"},
            timeout=10,
        )
        assert (bad_basic.status_code, bad_basic.json()["error"]) == (400, "invalid_request")
        repeated = requests.post(
            f"{url}/oauth2/token",
            data=[("grant_type", "client_credentials"), ("grant_type", "client_credentials")],
            auth=(client_id, secret),
            timeout=10,
        )
        assert repeated.status_code == 400


def test_disabled_client_gets_no_token(serve: Serve) -> None:
    with serve() as (url, settings):
        client_id, secret = create_client(settings)
        disable_client(settings, client_id)
        response = requests.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
            timeout=10,
        )
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")


def test_guessing_is_rate_limited_per_client_id(serve: Serve) -> None:
    with serve(token_endpoint_client_rpm=3) as (url, settings):
        client_id, secret = create_client(settings)
        data = {"grant_type": "client_credentials"}
        for guess in ("a", "b", "c"):
            response = requests.post(
                f"{url}/oauth2/token", data=data, auth=(client_id, guess), timeout=10
            )
            assert response.status_code == 401
        blocked = requests.post(
            f"{url}/oauth2/token", data=data, auth=(client_id, secret), timeout=10
        )
        assert blocked.status_code == 429
        assert blocked.json() == {"error": "Rate limit exceeded", "code": "too_many_requests"}
        assert 1 <= int(blocked.headers["retry-after"]) <= 60
        assert blocked.headers["x-ratelimit-reset"] == blocked.headers["retry-after"]
        other_id, other_secret = create_client(settings)
        fine = requests.post(
            f"{url}/oauth2/token", data=data, auth=(other_id, other_secret), timeout=10
        )
        assert fine.status_code == 200


def test_guessing_is_rate_limited_per_source_ip(serve: Serve) -> None:
    with serve(token_endpoint_ip_rpm=4) as (url, settings):
        client_id, secret = create_client(settings)
        data = {"grant_type": "client_credentials"}
        statuses = [
            requests.post(
                f"{url}/oauth2/token", data=data, auth=(f"emc_guess{i}", "x"), timeout=10
            ).status_code
            for i in range(4)
        ]
        assert statuses == [401] * 4
        blocked = requests.post(
            f"{url}/oauth2/token", data=data, auth=(client_id, secret), timeout=10
        )
        assert blocked.status_code == 429


def from_address(address: str) -> httpx.Client:
    """A client whose connections come from another loopback address (another machine)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def test_wrong_secrets_slow_their_source_not_the_client(serve: Serve) -> None:
    with serve(token_endpoint_client_rpm=3) as (url, settings):
        client_id, secret = create_client(settings)
        data = {"grant_type": "client_credentials"}
        with from_address("127.0.0.2") as attacker:
            statuses = [
                attacker.post(
                    f"{url}/oauth2/token", data=data, auth=(client_id, f"x{n}")
                ).status_code
                for n in range(6)
            ]
        assert statuses == [401, 401, 401, 429, 429, 429]
        with from_address("127.0.0.1") as owner:  # the real client, from its own address
            response = owner.post(f"{url}/oauth2/token", data=data, auth=(client_id, secret))
        assert response.status_code == 200, response.text


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(serve: Serve) -> None:
    data = {"grant_type": "client_credentials"}

    def statuses(url: str) -> list[int]:
        return [
            requests.post(
                f"{url}/oauth2/token",
                data=data,
                auth=(f"emc_guess{n}", "x"),
                headers={"X-Forwarded-For": f"203.0.113.{n}"},
                timeout=10,
            ).status_code
            for n in range(5)
        ]

    with serve(token_endpoint_ip_rpm=3) as (url, _):
        assert statuses(url) == [401, 401, 401, 429, 429]  # rotating the header buys nothing
    with serve(token_endpoint_ip_rpm=3, trusted_proxies="127.0.0.1") as (url, _):
        assert statuses(url) == [401] * 5  # behind a trusted proxy each address is its own


def test_forwarded_headers_are_off_by_default() -> None:
    assert server_options(Settings())["proxy_headers"] is False
    trusted = server_options(Settings(trusted_proxies="10.0.0.5, 10.0.0.6"))
    assert trusted["proxy_headers"] is True
    assert trusted["forwarded_allow_ips"] == ["10.0.0.5", "10.0.0.6"]


def test_slow_clients_are_cut_off(serve: Serve) -> None:
    """A request head or body that stops arriving gets a 408 and the connection is closed."""
    with serve(header_timeout=0.5, body_timeout=0.5) as (url, _):
        address = urlsplit(url)
        host, port = address.hostname or "127.0.0.1", address.port or 80

        def held_for(payload: bytes) -> tuple[float, bytes]:
            with socket.create_connection((host, port), timeout=10) as sock:
                started = time.monotonic()
                sock.sendall(payload)
                answer = b""
                while chunk := sock.recv(4096):  # until the server closes the connection
                    answer += chunk
                return time.monotonic() - started, answer

        seconds, answer = held_for(b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\n")  # no end
        assert seconds < 5 and answer.startswith(b"HTTP/1.1 408")
        head = (
            b"POST /oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ngrant_type="
        )
        seconds, answer = held_for(head)  # a body shorter than its Content-Length
        assert seconds < 5 and answer.startswith(b"HTTP/1.1 408")
        seconds, answer = held_for(b"")  # connects and says nothing
        assert seconds < 5
        assert requests.get(f"{url}/health", timeout=5).status_code == 200  # others unaffected
