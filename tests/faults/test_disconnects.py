"""A client that hangs up stops the model call behind it within a second, on every route that
calls a model: v2 completions (JSON and SSE), grounded completions (JSON and SSE) and the v1
message (JSON and SSE), both while waiting for the first token and in the middle of a stream.
A real uvicorn in front of the scripted upstream, whose `/_stats` counts the cancelled calls."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.grounding import Embedder
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.api.chats.v1_support import V1Server, upstream_name, v1_server, v1_settings

WAITS = "slow-5000"  # tier 1: nothing for five seconds
DRIPS = "drip-100+tokens-200"  # tier 2: a token every 100 ms for twenty seconds
FIRST_QUESTION = "Hi! Good morning."  # routed to tier 1
SLOW_QUESTION = "What should I pack for a weekend camping trip?"  # routed to tier 2
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="module")
def server(
    upstream: UpstreamHandle, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[V1Server]:
    data = tmp_path_factory.mktemp("faults-disconnects")
    settings = v1_settings(
        data, upstream, f"sqlite+aiosqlite:///{data / 'emmaus.db'}", fast=WAITS, mid=DRIPS
    )
    with v1_server(settings, ChatSettings(titles=False)) as running:
        running.app.state.embedder = embedder  # (read at start: the retriever has its own)
        yield running


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def request_for(route: str, server: V1Server, *, stream: bool, tier: int) -> tuple[str, dict]:
    if route == "v1":
        with server.client() as http:
            chat_id = http.post("/ai/v1/chat", json={"title": "hang up"}).json()["chat_id"]
        question = FIRST_QUESTION if tier == 1 else SLOW_QUESTION
        body: dict[str, Any] = {"query": question, "chat_id": chat_id, "stream": stream, **QUIET}
        return "/ai/v1/message", body
    model = "echo-fast" if tier == 1 else "echo-mid"
    body = {"model": model, "messages": [{"role": "user", "content": "x"}], "stream": stream}
    if route == "grounded":
        return "/ai/v2/chat/completions/grounded", body
    return "/ai/v2/chat/completions", body


def cancelled(upstream: UpstreamHandle, model: str) -> int:
    return int(upstream.stats()["cancelled"].get(model, 0))


ROUTES = ["v2", "grounded", "v1"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("route", ROUTES)
def test_hanging_up_before_the_first_token_cancels_the_model(
    server: V1Server, upstream: UpstreamHandle, route: str, stream: bool
) -> None:
    path, body = request_for(route, server, stream=stream, tier=1)
    model = upstream_name(1, WAITS)
    before = cancelled(upstream, model)
    with server.client() as impatient:
        impatient.timeout = httpx.Timeout(10, read=0.5)
        with pytest.raises(httpx.ReadTimeout):
            impatient.post(path, json=body)
    assert asyncio.run(upstream.wait_cancelled(model, count=before + 1, within=1.0))


@pytest.mark.parametrize("route", ROUTES)
def test_hanging_up_mid_stream_cancels_the_model(
    server: V1Server, upstream: UpstreamHandle, route: str
) -> None:
    path, body = request_for(route, server, stream=True, tier=2)
    model = upstream_name(2, DRIPS)
    before = cancelled(upstream, model)
    with server.client() as http, http.stream("POST", path, json=body) as response:
        assert response.status_code == 200
        received = 0
        for line in response.iter_lines():
            received += line.startswith("data: ")
            if received == 3:
                break
    assert asyncio.run(upstream.wait_cancelled(model, count=before + 1, within=1.0))
