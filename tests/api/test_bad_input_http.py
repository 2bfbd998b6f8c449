"""Input that used to give a 500 (found by an attack run), through a live server: NUL characters
and unpaired surrogates, integers past 64 bits, schemas nested hundreds deep, forged cursors,
`javascript:` links. Each is a clear 4xx in its route family's shape and changes nothing; and
an unhandled error answers a 500 and keeps the connection usable."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from emmaus.api.common.errors import UnhandledErrors, install_error_handlers
from tests.support.live_server import live_server

URL = "/ai/v2/chat/completions"


def ask(content: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], "model": "echo-openai", **fields}


def raw(http: httpx.Client, url: str, body: str) -> httpx.Response:
    return http.post(url, content=body.encode(), headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (URL, '{"messages": [{"role": "user", "content": "a\\u0000b"}], "model": "echo-openai"}'),
        (URL, '{"messages": [{"role": "user", "content": "a\\ud800"}], "model": "echo-openai"}'),
        (URL, '{"messages": [{"role": "user", "content": "\\udc00x"}], "model": "echo-openai"}'),
        (URL, '{"messages": [{"role": "user", "content": "hi"}], "model": "x", "stop": "\\ud83d"}'),
        ("/ai/v1/message", '{"query": "hello \\u0000"}'),
        ("/ai/v1/chat", '{"title": "t\\udfff"}'),
        ("/ai/v2/chat/completions/grounded", '{"rag_publisher": "P\\u0000"}'),
    ],
)
def test_nul_and_lone_surrogates_are_422(http: httpx.Client, url: str, body: str) -> None:
    response = raw(http, url, body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["name"] == "INVALID_REQUEST"


def test_escaped_backslashes_and_real_pairs_are_fine(http: httpx.Client) -> None:
    # `\\u0000` is the six characters \u0000 (code talk), and \ud83d\ude00 is one emoji.
    body = '{"messages": [{"role": "user", "content": "\\\\u0000 and \\ud83d\\ude00"}],'
    body += ' "model": "echo-openai"}'
    response = raw(http, URL, body)
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "\\u0000 and \U0001f600"


def nested(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def test_numbers_and_schemas_past_their_bounds(http: httpx.Client) -> None:
    assert http.post(URL, json=ask("hi", seed=2**64)).status_code == 422
    tool = {"type": "function", "function": {"name": "f", "parameters": nested(250)}}
    deep_tool = http.post(URL, json=ask("hi", tools=[tool]))
    assert deep_tool.status_code == 422 and "nested deeper" in deep_tool.text
    fmt = {"type": "json_schema", "json_schema": {"name": "n", "schema": nested(300)}}
    assert http.post(URL, json=ask("hi", response_format=fmt)).status_code == 422
    shallow = {"type": "function", "function": {"name": "f", "parameters": nested(5)}}
    assert http.post(URL, json=ask("hi", tools=[shallow])).status_code == 200


def test_forged_chat_cursors(http: httpx.Client) -> None:
    for forged in ("2026-01-01T00:00:00|c1", "not a date|c1", "2026-01-01T00:00:00+00:00|c\x00"):
        cursor = base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")
        response = http.get("/ai/v1/chats", params={"cursor": cursor})
        assert response.status_code == 422, (forged, response.text)


def test_library_fields_with_nul(http: httpx.Client) -> None:
    files = {"file": ("a.txt", b"Grace and peace.")}
    bad = http.post("/ai/v2/library/documents", files=files, data={"publisher": "P\x00"})
    assert bad.status_code == 422
    listed = http.get("/ai/v2/library/documents", params={"publisher": "P\x00"})
    assert listed.status_code == 422
    nul_file = {"file": ("nul.txt", b"Grace\x00 and peace to all who read this.")}
    stored = http.post("/ai/v2/library/documents", files=nul_file, data={"publisher": "Nul"})
    assert stored.status_code == 201, stored.text  # NUL bytes dropped from the text


def test_javascript_links_never_become_citations(http: httpx.Client) -> None:
    page = (
        b'<html><head><link rel="canonical" href="javascript:alert(1)"><title>Evil</title>'
        b"</head><body><p>Mercy triumphs over judgement, says James.</p></body></html>"
    )
    files = {"file": ("evil.html", page)}
    stored = http.post("/ai/v2/library/documents", files=files, data={"publisher": "Links"})
    assert stored.status_code == 201 and stored.json()["document"]["url"] is None
    refused = http.post(
        "/ai/v2/library/documents",
        files={"file": ("b.txt", b"text")},
        data={"publisher": "Links", "url": "javascript:alert(1)"},
    )
    assert refused.status_code == 422


def test_token_endpoint_with_nul_client_id(base_url: str) -> None:
    response = httpx.post(
        f"{base_url}/oauth2/token",
        data={"grant_type": "client_credentials", "client_id": "emc\x00x", "client_secret": "s"},
    )
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_an_unhandled_error_keeps_the_connection_usable() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/fine")
    async def fine() -> dict[str, bool]:
        return {"ok": True}

    app.add_middleware(UnhandledErrors)
    with live_server(app) as url, httpx.Client(base_url=url) as client:
        failed = client.get("/boom")
        assert failed.status_code == 500 and failed.json()["error"]["name"] == "INTERNAL_ERROR"
        assert client.get("/fine").json() == {"ok": True}  # the same keep-alive connection
