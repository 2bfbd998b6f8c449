"""The safety layer on the v1 routes (JSON, SSE, `/kallm`), on SQLite and PostgreSQL: a crisis
message is answered with the help resources and stored with its verdict, which the history
shows on both turns; a distress that builds over several messages is caught from the context;
suggestions are never written for a crisis; ordinary messages with crisis words pass."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.test_v1_chats import sse_events
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

CRISIS = "I want to end my life tonight, I have the pills ready."
NONE = {"action": "none", "categories": [], "severity": "none", "resources": []}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(tmp_path_factory.mktemp("v1-safety"), upstream, module_database_url)
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
def http(server: V1Server) -> Iterator[httpx.Client]:
    _, headers = server.new_client()
    with server.client(headers) as client:
        yield client


def test_crisis_message_is_answered_with_resources_and_stored(http: httpx.Client) -> None:
    response = http.post("/ai/v1/message", json={"query": CRISIS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["safety"]["action"] == "support" and "self_harm" in body["safety"]["categories"]
    assert "988" in body["message"] and body["success"] is True
    assert any(r["contact"] == "Call or text 988" for r in body["safety"]["resources"])
    assert body["suggestions"] == []  # nothing model-written beside a crisis answer
    history = http.get("/ai/v1/chat", params={"chat_id": body["chat_id"]}).json()
    user, reply = history["messages"]
    assert user["message"] == CRISIS  # the person's words are kept
    assert user["safety"] == reply["safety"] == body["safety"]
    assert "988" in reply["message"]


def test_a_character_limit_never_cuts_the_help_resources(http: httpx.Client) -> None:
    body = http.post("/ai/v1/message", json={"query": CRISIS, "character_limit": 40}).json()
    assert "988" in body["message"] and "741741" in body["message"]


def test_crisis_over_sse_and_kallm(http: httpx.Client) -> None:
    streamed = http.post("/ai/v1/message", json={"query": CRISIS, "stream": True})
    events = sse_events(streamed)
    final = events[-2]
    assert isinstance(final, dict) and final["safety"]["action"] == "support"
    text = "".join(e["message"] for e in events[:-2] if isinstance(e, dict))
    assert "988" in text and text == final["message"]
    kallm = http.post("/ai/v1/message/kallm", json={"query": CRISIS})
    assert kallm.status_code == 200 and "988" in kallm.json()["message"]


def test_distress_building_over_turns_is_caught(http: httpx.Client) -> None:
    first = http.post(
        "/ai/v1/message",
        json={"query": "I've been giving my things away to friends this week.", "intent": 0},
    ).json()
    http.post(
        "/ai/v1/message",
        json={"chat_id": first["chat_id"], "query": "I wrote letters to my mom and my sister."},
    )
    last = http.post(
        "/ai/v1/message",
        json={"chat_id": first["chat_id"], "query": "Tell my mom I'm sorry. Goodbye."},
    ).json()
    assert last["safety"]["action"] == "support", last
    assert "988" in last["message"]


def test_ordinary_message_with_crisis_words_passes(http: httpx.Client) -> None:
    question = "My phone died during the sermon on the crucifixion, what did I miss?"
    body = http.post("/ai/v1/message", json={"query": question, "enable_suggestions": 0}).json()
    assert body["safety"] == NONE and body["message"] == question  # the echo model answered
