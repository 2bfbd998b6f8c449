"""Gloo's chat tutorial, run with `requests` against Emmaus on SQLite and PostgreSQL: a token,
a new chat with suggestions, a follow-up by the first suggestion, then the history."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
import requests

from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

ID = {
    p: re.compile(
        rf"^{p}[0-9a-f]{{8}}-[0-9a-f]{{4}}-4[0-9a-f]{{3}}-[89ab][0-9a-f]{{3}}-[0-9a-f]{{12}}$"
    )
    for p in "cqmu"
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")  # naive, microseconds


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(tmp_path_factory.mktemp("v1-tutorial"), upstream, module_database_url)
    with v1_server(settings) as running:
        yield running


def token(server: V1Server) -> str:
    response = requests.post(
        f"{server.base_url}/oauth2/token",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data={"grant_type": "client_credentials", "scope": "api/access"},
        auth=(server.client_id, server.secret),
        timeout=30,
    )
    response.raise_for_status()
    body = response.json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] > 60
    return str(body["access_token"])


def send(server: V1Server, bearer: str, text: str, chat_id: str | None = None) -> dict:
    payload: dict[str, object] = {
        "query": text,
        "character_limit": 1000,
        "sources_limit": 5,
        "stream": False,
        "publishers": [],
        "enable_suggestions": 1,
    }
    if chat_id:
        payload["chat_id"] = chat_id
    response = requests.post(
        f"{server.base_url}/ai/v1/message",
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
        json=payload,
        timeout=120,
    )
    response.raise_for_status()
    return response.json()


def test_the_tutorial_flow(server: V1Server) -> None:
    bearer = token(server)
    question = "How can I find meaning and purpose when facing life's greatest challenges?"
    first = send(server, bearer, question)
    assert set(first) == {
        "chat_id",
        "query_id",
        "message_id",
        "timestamp",
        "success",
        "message",
        "model",
        "sources",
        "sources_limit",
        "suggestions",
        "intent",
        "safety",  # Emmaus: what the safety layer did
    }
    assert first["safety"] == {
        "action": "none",
        "categories": [],
        "severity": "none",
        "resources": [],
    }
    assert ID["c"].match(first["chat_id"]) and ID["q"].match(first["query_id"])
    assert ID["m"].match(first["message_id"]) and TIMESTAMP.match(first["timestamp"])
    assert first["success"] is True and first["message"] == question  # the echo model
    assert first["sources"] == [] and first["sources_limit"] == 5 and first["intent"] == 0
    suggestions = first["suggestions"]
    assert 1 <= len(suggestions) <= 3 and all(isinstance(s, str) and s for s in suggestions)

    follow_up = send(server, bearer, suggestions[0], first["chat_id"])
    assert follow_up["chat_id"] == first["chat_id"]
    assert follow_up["query_id"] != first["query_id"]
    assert follow_up["message"] == suggestions[0][:1000]

    response = requests.get(
        f"{server.base_url}/ai/v1/chat",
        headers={"Authorization": f"Bearer {bearer}"},
        params={"chat_id": first["chat_id"]},
        timeout=30,
    )
    response.raise_for_status()
    history = response.json()
    assert list(history) == [
        "user_id",
        "chat_id",
        "created_at",
        "updated_at",
        "messages",
        "pin",
        "summary",
        "title",
    ]
    assert ID["u"].match(history["user_id"]) and history["chat_id"] == first["chat_id"]
    assert TIMESTAMP.match(history["created_at"]) and TIMESTAMP.match(history["updated_at"])
    assert history["pin"] is False and history["summary"] is None and history["title"]
    messages = history["messages"]
    assert [m["role"] for m in messages] == ["user", "kallm", "user", "kallm"]
    texts = [question, question, suggestions[0], follow_up["message"]]
    assert [m["message"] for m in messages] == texts
    user, reply = messages[0], messages[1]
    assert user["query_id"] == reply["query_id"] == first["query_id"]
    assert reply["message_id"] == first["message_id"] and reply["timestamp"] == first["timestamp"]
    assert set(user) == {
        "query_id",
        "message_id",
        "timestamp",
        "role",
        "character_limit",
        "stream",
        "intent",
        "message",
        "model",
        "publishers",
        "safety",
    }
    assert user["character_limit"] == 1000 and user["stream"] is False
    assert user["model"] == reply["model"] == first["model"] and user["publishers"] == []
    assert set(reply) == {
        "query_id",
        "message_id",
        "timestamp",
        "role",
        "intent",
        "sources_limit",
        "sources",
        "success",
        "suggestions",
        "message",
        "model",
        "safety",
    }
    assert user["safety"] == reply["safety"] == first["safety"]
    assert reply["success"] is True and reply["suggestions"] == suggestions
    assert reply["sources_limit"] == 5 and reply["sources"] == []
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps)


def test_kallm_reduced_response_and_chat_id_in_the_query_string(server: V1Server) -> None:
    with server.client() as http:
        first = http.post(
            "/ai/v1/message/kallm", json={"query": "Hello there", "enable_suggestions": 0}
        )
        assert first.status_code == 200, first.text
        body = first.json()
        assert set(body) == {"query_id", "message_id", "message", "timestamp"}
        # No chat_id in the reduced response: find the chat through the list.
        chats = http.get("/ai/v1/chats").json()["chats"]
        chat_id = chats[0]["chat_id"]
        again = http.post(
            "/ai/v1/message",
            params={"chat_id": chat_id, "enable_suggestions": 0},
            json={"query": "Second"},
        )
        assert again.status_code == 200, again.text
        assert again.json()["chat_id"] == chat_id
        started = time.monotonic()
        history = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()
        assert time.monotonic() - started < 30
        assert [m["message"] for m in history["messages"]] == [
            "Hello there",
            "Hello there",
            "Second",
            "Second",
        ]
