"""Auth wired into the real application (emmaus.api.app), served by uvicorn, used by the official
`openai` SDK with the access token as `api_key` (spec §1.3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import requests

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import serve_upstream
from tests.support.auth import create_client, fetch_token
from tests.support.live_server import live_server

CATALOG = """
[[models]]
id = "echo-openai"
family = "openai"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo"
context_window = 128000
capabilities = ["tools", "streaming", "json"]
"""
ASK = [{"role": "user", "content": "Grace and peace to you"}]


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Settings]]:
    data = tmp_path_factory.mktemp("wired")
    with serve_upstream(tokens=8, token_size=4) as upstream:
        catalog = Path(data) / "models.toml"
        catalog.write_text(CATALOG.format(base=upstream.base_url))
        settings = Settings(data_dir=data, models=catalog, rate_limit_rpm=100)
        with live_server(create_app(settings)) as url:
            yield url, settings


def sdk(url: str, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/ai/v2", api_key=token, max_retries=0)


def test_public_routes_stay_public(app_server: tuple[str, Settings]) -> None:
    url, _ = app_server
    for path in ("/platform/v2/models", "/health"):
        response = httpx.get(f"{url}{path}")
        assert response.status_code == 200, path
        assert "x-ratelimit-limit-requests" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ai/v2/models"),
        ("GET", "/ai/v2/models/echo-openai"),
        ("POST", "/ai/v2/chat/completions"),
    ],
)
def test_ai_routes_need_a_token(app_server: tuple[str, Settings], method: str, path: str) -> None:
    url, _ = app_server
    response = httpx.request(method, f"{url}{path}", json={"not": "valid"})  # auth comes first
    assert response.status_code == 401
    assert response.json() == {
        "error": "Missing Authorization",
        "code": "unauthorized_missing_authorization",
    }


def test_openai_sdk_with_the_token_as_api_key(app_server: tuple[str, Settings]) -> None:
    url, settings = app_server
    client_id, secret = create_client(settings, rpm=None, tpm=None)
    token = requests.post(
        f"{url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "api/access"},
        auth=(client_id, secret),
        timeout=10,
    ).json()["access_token"]
    raw = sdk(url, token).chat.completions.with_raw_response.create(
        model="echo-openai", messages=ASK
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "100"
    assert raw.headers["x-ratelimit-remaining-requests"] == "99"
    assert raw.headers["x-ratelimit-limit-tokens"] == str(settings.rate_limit_tpm)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Grace and peace to you"
    assert [m.id for m in sdk(url, token).models.list()] == ["echo-openai"]

    with pytest.raises(openai.AuthenticationError) as caught:
        sdk(url, token + "x").chat.completions.create(model="echo-openai", messages=ASK)
    assert caught.value.status_code == 401
    assert caught.value.response.json()["code"] == "unauthorized"


def test_admin_token_without_api_access_is_403(app_server: tuple[str, Settings]) -> None:
    url, settings = app_server
    client_id, secret = create_client(settings, scopes="admin")
    token = fetch_token(url, client_id, secret, scope="admin")
    with pytest.raises(openai.PermissionDeniedError) as caught:
        sdk(url, token).chat.completions.create(model="echo-openai", messages=ASK)
    assert caught.value.response.json() == {
        "error": "Forbidden - insufficient permissions",
        "code": "forbidden",
    }


@pytest.mark.parametrize("stream", [False, True])
def test_completion_tokens_are_charged(app_server: tuple[str, Settings], stream: bool) -> None:
    url, settings = app_server
    client_id, secret = create_client(settings, rpm=100, tpm=5)
    client = sdk(url, fetch_token(url, client_id, secret))
    if stream:
        chunks = client.chat.completions.create(model="echo-openai", messages=ASK, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        usage = client.chat.completions.create(model="echo-openai", messages=ASK).usage
        assert usage is not None and usage.total_tokens > 5
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="echo-openai", messages=ASK)
    assert caught.value.response.json() == {
        "error": "Rate limit exceeded",
        "code": "too_many_requests",
    }
    headers = caught.value.response.headers
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    assert int(headers["retry-after"]) == int(headers["x-ratelimit-reset"]) >= 1


def test_invalid_requests_count_and_carry_headers(app_server: tuple[str, Settings]) -> None:
    url, settings = app_server
    client_id, secret = create_client(settings, rpm=2, tpm=None)
    headers = {"Authorization": f"Bearer {fetch_token(url, client_id, secret)}"}
    bad = httpx.post(f"{url}/ai/v2/chat/completions", json={"messages": []}, headers=headers)
    assert bad.status_code in (400, 422)
    assert bad.headers["x-ratelimit-remaining-requests"] == "1"
    assert httpx.get(f"{url}/ai/v2/models", headers=headers).status_code == 200
    refused = httpx.get(f"{url}/ai/v2/models", headers=headers)
    assert refused.status_code == 429
    assert refused.json() == {"error": "Rate limit exceeded", "code": "too_many_requests"}
