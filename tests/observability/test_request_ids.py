"""`x-request-id`: the caller's (when short and plain) or a new one, on every response of the
real app served by uvicorn: successes, auth errors, 404s, 413s, 422s, 429s and streams."""

from __future__ import annotations

import re

import httpx
import pytest

from emmaus.observability.request_ids import MAX_LENGTH, accept_or_generate
from tests.observability.conftest import Ops, ask

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    "raw",
    [b"abc-123", b"trace:4bf92f3577b34da6/00f067aa0ba902b7", b"x" * MAX_LENGTH, b"a.b_c+d=e@f"],
)
def test_a_plain_caller_id_is_kept(raw: bytes) -> None:
    assert accept_or_generate(raw) == raw.decode()


@pytest.mark.parametrize(
    "raw",
    [None, b"", b"x" * (MAX_LENGTH + 1), b"has space", b"line\r\nbreak", "é".encode(), b"a\x00b"],
)
def test_anything_else_gets_a_new_id(raw: bytes | None) -> None:
    assert GENERATED.fullmatch(accept_or_generate(raw))


def test_generated_when_absent_and_new_each_time(http: httpx.Client) -> None:
    ids = {http.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3
    assert all(GENERATED.fullmatch(i) for i in ids)


def test_a_bad_caller_id_is_replaced(http: httpx.Client) -> None:
    response = http.get("/healthz", headers={"x-request-id": "x" * 500})
    assert GENERATED.fullmatch(response.headers["x-request-id"])


def test_echoed_on_success_and_on_every_kind_of_error(ops: Ops, http: httpx.Client) -> None:
    _, auth = ops.client()
    as_json = {**auth, "Content-Type": "application/json"}
    path = "/ai/v2/chat/completions"
    cases = [
        ("ok-1", 200, "POST", path, {"json": ask("priced"), "headers": auth}),
        ("noauth-1", 401, "GET", "/ai/v2/models", {}),
        ("badtoken-1", 401, "GET", "/ai/v2/models", {"headers": {"Authorization": "Bearer x"}}),
        ("missing-1", 404, "GET", "/no/such/path", {}),
        ("invalid-1", 422, "POST", path, {"json": {"messages": []}, "headers": auth}),
        ("malformed-1", 400, "POST", path, {"content": b"{", "headers": as_json}),
        ("big-1", 413, "POST", path, {"content": b"x" * 20_000, "headers": as_json}),
    ]
    for tag, status, method, url, options in cases:
        headers = {**options.pop("headers", {}), "x-request-id": tag}  # type: ignore[dict-item]
        response = http.request(method, url, headers=headers, **options)  # type: ignore[arg-type]
        assert (tag, response.status_code) == (tag, status)
        assert response.headers["x-request-id"] == tag


def test_echoed_on_a_429(ops: Ops, http: httpx.Client) -> None:
    _, headers = ops.client(rpm=1)
    http.get("/ai/v2/models", headers=headers)
    refused = http.get("/ai/v2/models", headers={**headers, "x-request-id": "limited-1"})
    assert refused.status_code == 429
    assert refused.headers["x-request-id"] == "limited-1"


def test_echoed_on_a_stream(ops: Ops, http: httpx.Client) -> None:
    _, headers = ops.client()
    body = ask("priced", stream=True)
    with http.stream(
        "POST", "/ai/v2/chat/completions", json=body, headers={**headers, "x-request-id": "sse-1"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"] == "sse-1"
        assert response.read().endswith(b"data: [DONE]\n\n")


def test_echoed_on_a_500() -> None:
    """An exception no handler took: `UnhandledErrors` answers 500 inside the id middleware."""
    from emmaus.api.common.errors import UnhandledErrors
    from emmaus.observability.middleware import Observability
    from tests.support.live_server import live_server

    async def broken(scope: dict, receive: object, send: object) -> None:
        if scope["type"] == "http":
            raise RuntimeError("a bug")

    app = Observability(UnhandledErrors(broken), record=False)
    with live_server(app, lifespan="off") as url:
        response = httpx.get(f"{url}/anything", headers={"x-request-id": "boom-1"})
    assert response.status_code == 500
    assert response.headers["x-request-id"] == "boom-1"
