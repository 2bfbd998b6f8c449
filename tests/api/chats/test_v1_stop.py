"""Gloo's v1 stop, `PUT /ai/v1/message?task=stop&chat_id=&message_id=`, on live servers: a
streamed reply stops where it is and keeps its text (`partial`); a whole (non-streamed) answer
being waited for stops too; the id may be the reply, its user turn or the exchange's query id;
a finished reply answers `success: false`; unknown or another client's ids are 404s. Across
instances on one PostgreSQL: a stop sent to one server stops the reply another is generating,
through Redis pub/sub, and without Redis through the flag on the reply's row. SQLite and
PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from emmaus.config import Settings
from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, tier_of, upstream_name, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

DRIP = "drip-100+tokens-300+tag-stop"  # tiers 1 and 3: a 30 s stream, 4 characters a piece
SLOW = "slow-4000+tag-stopslow"  # tier 2: 4 s before anything comes back
STREAMED = "Sing me a song."  # tier 1
WAITED = "What should I pack for a weekend camping trip?"  # tier 2
QUIET = {"enable_suggestions": 0}
# Heartbeats (and the Redis-mode fallback poll) far apart: what stops a reply here is the
# stop path itself, never a lease taking over.
CHAT = ChatSettings(titles=False, heartbeat_interval=30, lease_timeout=120)


def stopping_settings(data: Path, upstream: UpstreamHandle, database_url: str) -> Settings:
    return v1_settings(data, upstream, database_url, fast=DRIP, mid=SLOW, deep=DRIP, embedded=False)


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    assert (tier_of(STREAMED), tier_of(WAITED)) == (1, 2)  # the scripts above depend on it
    data = tmp_path_factory.mktemp("v1-stop")
    with v1_server(stopping_settings(data, upstream, module_database_url), CHAT) as running:
        yield running


def stop(http: httpx.Client, message_id: str, chat_id: str | None = None) -> httpx.Response:
    params = {"task": "stop", "message_id": message_id}
    if chat_id is not None:
        params["chat_id"] = chat_id
    return http.put("/ai/v1/message", params=params)


def tree(http: httpx.Client, chat_id: str) -> list[dict[str, Any]]:
    response = http.get("/ai/v1/chat", params={"chat_id": chat_id, "tree": "true"})
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def events_of(lines: Iterator[str]) -> list[dict[str, Any]]:
    events = []
    for line in lines:
        if line == "data: [DONE]":
            return events
        if line.startswith("data: "):
            events.append(orjson.loads(line[6:]))
    raise AssertionError("the stream ended without [DONE]")


def stop_while_streaming(
    runner: V1Server, stopper: V1Server, *, by: str = "x-emmaus-message-id"
) -> tuple[httpx.Response, list[dict[str, Any]], float]:
    """Stream a long answer from `runner`, stop it through `stopper` (the same API client)
    after its first piece, by the id in header `by`: (the stop's response, the stream's
    events, seconds the stop took)."""
    with runner.client() as http, stopper.client(runner.headers) as other:
        chat_id = http.post("/ai/v1/chat", json={}).json()["chat_id"]
        body = {"query": STREAMED, "chat_id": chat_id, "stream": True, **QUIET}
        with http.stream("POST", "/ai/v1/message", json=body) as response:
            assert response.status_code == 200
            assert response.headers["x-emmaus-chat-id"] == chat_id
            lines = response.iter_lines()
            first = events_of_one(lines)
            started = time.monotonic()
            stopped = stop(other, response.headers[by], chat_id)
            took = time.monotonic() - started
            events = [first, *events_of(lines)]
    return stopped, events, took


def events_of_one(lines: Iterator[str]) -> dict[str, Any]:
    for line in lines:
        if line.startswith("data: "):
            return dict(orjson.loads(line[6:]))
    raise AssertionError("no event")


def assert_stopped_stream(
    http: httpx.Client, stopped: httpx.Response, events: list[dict[str, Any]]
) -> None:
    assert stopped.status_code == 200, stopped.text
    final = events[-1]
    streamed = "".join(e["message"] for e in events[:-1])
    assert stopped.json() == {
        "task": "stop", "success": True, "chat_id": final["chat_id"],
        "message_id": final["message_id"], "status": "partial",
    }  # fmt: skip
    assert final["success"] is False and final["error"]["name"] == "REPLY_STOPPED"
    assert streamed and final["message"] == streamed  # the text so far, and no more
    assert len(streamed) < 300 * 4  # it did stop early
    reply = tree(http, final["chat_id"])[-1]
    assert (reply["status"], reply["message"], reply["success"]) == ("partial", streamed, False)


def test_a_streamed_reply_stops_and_keeps_its_text(
    server: V1Server, upstream: UpstreamHandle
) -> None:
    cancelled = upstream.stats()["cancelled"].get(upstream_name(1, DRIP), 0)
    stopped, events, _ = stop_while_streaming(server, server)
    with server.client() as http:
        assert_stopped_stream(http, stopped, events)
        chat_id, reply_id = events[-1]["chat_id"], events[-1]["message_id"]
        deadline = time.monotonic() + 5  # the model call was cancelled, not left running
        while upstream.stats()["cancelled"].get(upstream_name(1, DRIP), 0) <= cancelled:
            assert time.monotonic() < deadline, "the upstream call was not cancelled"
            time.sleep(0.05)
        # Stopping it again: nothing is running any more.
        again = stop(http, reply_id, chat_id)
        assert again.status_code == 200
        assert again.json() == {
            "task": "stop", "success": False, "chat_id": chat_id, "message_id": reply_id,
            "status": "partial",
        }  # fmt: skip
        # The chat goes on; the partial text is part of its history.
        after = http.post("/ai/v1/message", json={"query": WAITED, "chat_id": chat_id, **QUIET})
        assert after.status_code == 200 and after.json()["success"] is True


def test_a_waited_for_answer_stops_by_its_query_id(server: V1Server) -> None:
    with server.client() as http:
        chat_id = http.post("/ai/v1/chat", json={}).json()["chat_id"]
        answered: list[httpx.Response] = []
        body = {"query": WAITED, "chat_id": chat_id, **QUIET}
        sender = threading.Thread(
            target=lambda: answered.append(
                httpx.post(
                    f"{server.base_url}/ai/v1/message", json=body, headers=server.headers,
                    timeout=30,
                )
            )
        )  # fmt: skip
        sender.start()
        deadline = time.monotonic() + 10
        while not (messages := tree(http, chat_id)) or len(messages) < 2:
            assert time.monotonic() < deadline, "the turn was never stored"
            time.sleep(0.02)
        question, pending = messages
        assert pending["status"] == "pending"  # tree=true shows the reply being written
        stopped = stop(http, question["query_id"], chat_id)
        sender.join(timeout=20)
        assert stopped.status_code == 200, stopped.text
        assert stopped.json() == {
            "task": "stop", "success": True, "chat_id": chat_id,
            "message_id": pending["message_id"], "status": "failed",  # no text had come yet
        }  # fmt: skip
        # The request that was waiting gets its (empty) answer, not an error.
        response = answered[0]
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["success"] is False and result["message_id"] == pending["message_id"]
        assert result["error"]["name"] == "REPLY_STOPPED" and result["message"] == ""


def test_stop_by_the_user_turn_and_what_is_refused(server: V1Server) -> None:
    stopped, events, _ = stop_while_streaming(server, server, by="x-emmaus-user-message-id")
    with server.client() as http:
        assert_stopped_stream(http, stopped, events)
        chat_id, reply_id = events[-1]["chat_id"], events[-1]["message_id"]

        finished = http.post("/ai/v1/message", json={"query": WAITED, **QUIET}).json()
        done = stop(http, finished["message_id"], finished["chat_id"])
        assert done.status_code == 200
        assert done.json() == {
            "task": "stop", "success": False, "chat_id": finished["chat_id"],
            "message_id": finished["message_id"], "status": "complete",
        }  # fmt: skip
        # chat_id is optional (the id says which chat), but must be the message's if given.
        assert stop(http, finished["query_id"]).json()["status"] == "complete"

        def refused(status: int, name: str | None, **params: str) -> None:
            response = http.put("/ai/v1/message", params=params)
            assert response.status_code == status, response.text
            assert "error" in response.json() and "detail" in response.json()
            if name:
                assert response.json()["error"]["name"] == name

        refused(404, "MESSAGE_NOT_FOUND", task="stop", chat_id=chat_id, message_id="mnope")
        refused(404, "CHAT_NOT_FOUND", task="stop", chat_id="cnope", message_id=reply_id)
        refused(404, "MESSAGE_NOT_FOUND", task="stop", chat_id=finished["chat_id"],
                message_id=reply_id)  # fmt: skip  # a message of another chat
        refused(422, None, task="pause", chat_id=chat_id, message_id=reply_id)
        refused(422, None, chat_id=chat_id, message_id=reply_id)
        refused(422, None, task="stop", chat_id=chat_id)
        refused(422, None, task="stop", chat_id=chat_id, message_id="")
    _, headers = server.new_client()
    with server.client(headers) as stranger:
        for params in ({"chat_id": chat_id}, {}):
            response = stranger.put(
                "/ai/v1/message", params={"task": "stop", "message_id": reply_id, **params}
            )
            assert response.status_code == 404, response.text


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "row-flag"])
def test_a_stop_reaches_the_instance_running_the_reply(
    with_redis: bool,
    request: pytest.FixtureRequest,
    postgres_url: str,
    upstream: UpstreamHandle,
    tmp_path: Path,
) -> None:
    settings = stopping_settings(tmp_path, upstream, postgres_url)
    if with_redis:
        settings = settings.model_copy(
            update={
                "redis_url": request.getfixturevalue("redis_url"),
                "redis_prefix": request.getfixturevalue("redis_prefix"),
            }
        )
    with v1_server(settings, CHAT) as runner, v1_server(settings, CHAT) as stopper:
        assert runner.app.state.system.stops is not stopper.app.state.system.stops
        stopped, events, took = stop_while_streaming(runner, stopper)
        with runner.client() as http:
            assert_stopped_stream(http, stopped, events)
    # Redis: at once (the row poll runs only every 30 s here); the row flag: within its poll.
    assert took < (1.5 if with_redis else 3.0), took
