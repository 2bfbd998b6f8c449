"""A v1 message refused before the model runs (too long for every context window, an unknown
model) leaves nothing behind: no new chat, no question, no failed exchange; on SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

WINDOW = 1024
TOO_LONG = "Tell me about grace and mercy in the letters of Paul. " * 400  # ~4,400 tokens
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(
        tmp_path_factory.mktemp("v1-refusals"),
        upstream,
        module_database_url,
        window=WINDOW,
        embedded=False,
    )
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
def http(server: V1Server) -> Iterator[httpx.Client]:
    _, headers = server.new_client()  # a client of its own: its chat list starts empty
    with server.client(headers) as client:
        yield client


def chats_of(http: httpx.Client) -> list[dict]:
    listed = http.get("/ai/v1/chats", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return listed.json()["chats"]


def messages_of(http: httpx.Client, chat_id: str) -> list[dict]:
    history = http.get("/ai/v1/chat", params={"chat_id": chat_id, "tree": "true"})
    assert history.status_code == 200, history.text
    return history.json()["messages"]


@pytest.mark.parametrize("stream", [False, True])
def test_too_long_for_every_window_leaves_no_chat(http: httpx.Client, stream: bool) -> None:
    refused = http.post("/ai/v1/message", json={"query": TOO_LONG, "stream": stream, **QUIET})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["name"] == "CONTEXT_LENGTH_EXCEEDED"
    assert f"{WINDOW:,}" in error["message"]  # it says which window it did not fit
    assert chats_of(http) == []


def test_too_long_in_a_chat_leaves_its_history_as_it_was(http: httpx.Client) -> None:
    first = http.post("/ai/v1/message", json={"query": "Who wrote Romans?", **QUIET})
    assert first.status_code == 200, first.text
    chat_id = first.json()["chat_id"]
    before = messages_of(http, chat_id)
    assert len(before) == 2

    refused = http.post("/ai/v1/message", json={"query": TOO_LONG, "chat_id": chat_id, **QUIET})
    assert refused.status_code == 400, refused.text
    assert messages_of(http, chat_id) == before

    edited = http.post(
        "/ai/v1/chat/edit",
        json={"chat_id": chat_id, "message_id": before[0]["message_id"], "query": TOO_LONG},
    )
    assert edited.status_code == 400, edited.text
    assert messages_of(http, chat_id) == before  # no new sibling either
    assert [c["chat_id"] for c in chats_of(http)] == [chat_id]


def test_a_question_that_fits_is_answered(http: httpx.Client) -> None:
    answered = http.post("/ai/v1/message", json={"query": "Who was Ruth?", **QUIET})
    assert answered.status_code == 200, answered.text
    assert answered.json()["success"] is True
