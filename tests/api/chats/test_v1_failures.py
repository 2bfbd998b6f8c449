"""Replies that fail, break off or lose their client, on SQLite and PostgreSQL: the user turn is
always stored, the reply is stored as failed or partial, and the caller gets a clear error."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.engine.routing import TierClassifier
from emmaus.engine.types import Message
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, upstream_name, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

BROKEN, SLOW = "disconnect", "slow-1000+drip-100+tokens-60"
FAILING = "fail-503+retryafter-7"  # an overloaded upstream: its hint must reach the client
SIMPLE = "Hi! Good morning."  # tier 1: the upstream drops the connection
SLOW_QUESTION = "What should I pack for a weekend camping trip?"  # tier 2: a slow stream
HARD = (  # tier 3: the upstream answers 503 with Retry-After: 7
    "Explain why and compare in depth, step by step, the trade-offs between atonement and "
    "justification?"
)
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(
        tmp_path_factory.mktemp("v1-failures"),
        upstream,
        module_database_url,
        fast=BROKEN,
        mid=SLOW,
        deep=FAILING,
    )
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
def http(server: V1Server) -> Iterator[httpx.Client]:
    _, headers = server.new_client()
    with server.client(headers) as client:
        yield client


def test_the_questions_route_where_the_faults_are() -> None:
    router = TierClassifier.load()
    tiers = [router.classify([Message("user", q)]).tier for q in (SIMPLE, SLOW_QUESTION, HARD)]
    assert tiers == [1, 2, 3]


def history_of(http: httpx.Client, chat_id: str) -> list[dict]:
    response = http.get("/ai/v1/chat", params={"chat_id": chat_id})
    assert response.status_code == 200
    return response.json()["messages"]


def wait_for_reply(http: httpx.Client, chat_id: str, within: float = 10) -> list[dict]:
    deadline = time.monotonic() + within
    while True:
        messages = history_of(http, chat_id)
        if len(messages) >= 2 or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)


def cancelled(upstream: UpstreamHandle, model: str, count: int, within: float = 5) -> bool:
    """The upstream saw `count` clients of `model` go away (Emmaus stopped the generation)."""
    deadline = time.monotonic() + within
    while upstream.stats()["cancelled"].get(model, 0) < count:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def new_chat(http: httpx.Client) -> str:
    return http.post("/ai/v1/chat", json={"title": "faults"}).json()["chat_id"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_failed_model_call_keeps_the_question(http: httpx.Client, stream: bool) -> None:
    chat_id = new_chat(http)
    response = http.post(
        "/ai/v1/message", json={"query": HARD, "chat_id": chat_id, "stream": stream, **QUIET}
    )
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"  # v1 passes the upstream's hint on, as v2 does
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["chat_id"] == chat_id and error["query_id"].startswith("q")
    assert error["name"].startswith("PROVIDER") and response.json()["detail"]
    user, reply = history_of(http, chat_id)
    assert user["message"] == HARD and user["query_id"] == error["query_id"]
    assert reply["role"] == "kallm" and reply["success"] is False and reply["message"] == ""
    assert reply["message_id"] == error["message_id"]


def test_a_stream_broken_midway_stores_the_partial_reply(http: httpx.Client) -> None:
    chat_id = new_chat(http)
    response = http.post(
        "/ai/v1/message", json={"query": SIMPLE, "chat_id": chat_id, "stream": True, **QUIET}
    )
    assert response.status_code == 200
    events = [
        orjson.loads(b.removeprefix("data: ")) if b != "data: [DONE]" else "[DONE]"
        for b in response.text.strip().split("\n\n")
    ]
    assert events[-1] == "[DONE]"
    final = events[-2]
    assert final["success"] is False and final["error"]["name"] == "PROVIDER_STREAM_BROKEN"
    sent = "".join(e["message"] for e in events[:-2])
    assert sent and final["message"] == sent
    _, reply = history_of(http, chat_id)
    assert reply["success"] is False and reply["message"] == sent  # stored as partial


def test_a_broken_answer_without_streaming_fails_cleanly(http: httpx.Client) -> None:
    chat_id = new_chat(http)
    response = http.post("/ai/v1/message", json={"query": SIMPLE, "chat_id": chat_id, **QUIET})
    assert 500 <= response.status_code < 600
    assert response.json()["error"]["query_id"].startswith("q")
    user, reply = history_of(http, chat_id)
    assert user["message"] == SIMPLE and reply["success"] is False


def test_hanging_up_mid_stream_stops_the_model_and_keeps_what_was_said(
    server: V1Server, http: httpx.Client, upstream: UpstreamHandle
) -> None:
    chat_id = new_chat(http)
    model = upstream_name(2, SLOW)
    before = upstream.stats()["cancelled"].get(model, 0)
    body = {"query": SLOW_QUESTION, "chat_id": chat_id, "stream": True, **QUIET}
    with http.stream("POST", "/ai/v1/message", json=body) as response:
        assert response.status_code == 200
        received = 0
        for line in response.iter_lines():
            if line.startswith("data: "):
                received += 1
                if received == 3:
                    break  # leave after three pieces
    assert cancelled(upstream, model, before + 1)
    _, reply = wait_for_reply(http, chat_id)
    assert reply["success"] is False and reply["message"]  # partial: what had been written


def test_hanging_up_before_the_answer_marks_the_reply_failed(
    server: V1Server, http: httpx.Client, upstream: UpstreamHandle
) -> None:
    chat_id = new_chat(http)
    model = upstream_name(2, SLOW)
    before = upstream.stats()["cancelled"].get(model, 0)
    with server.client(http.headers) as impatient:
        impatient.timeout = httpx.Timeout(0.4)
        with pytest.raises(httpx.ReadTimeout):
            impatient.post(
                "/ai/v1/message", json={"query": SLOW_QUESTION, "chat_id": chat_id, **QUIET}
            )
    assert cancelled(upstream, model, before + 1)
    user, reply = wait_for_reply(http, chat_id)
    assert user["message"] == SLOW_QUESTION and reply["success"] is False
