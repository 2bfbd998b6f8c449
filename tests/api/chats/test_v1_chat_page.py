"""`GET /ai/v1/chat/page` (what Emmaus Studio opens a chat with) and the v1 routing fields
(`model`, `model_family`) on a live server, SQLite and PostgreSQL: pages walk the active branch
newest first without gaps or repeats, each turn carries its versions and (replies) the routing
decision, branches change what the pages hold, and bad input is a clear 4xx that writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.studio.support import seed_long_chat
from tests.support.module_databases import module_database_url  # noqa: F401

SCRIPT = "echo+tag-chatpage"
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    data = tmp_path_factory.mktemp("v1-chat-page")
    settings = v1_settings(
        data, upstream, module_database_url, fast=SCRIPT, mid=SCRIPT, deep=SCRIPT, embedded=False
    )
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
def client_id_and_http(server: V1Server) -> Iterator[tuple[str, httpx.Client]]:
    client_id, headers = server.new_client()
    with server.client(headers) as client:
        yield client_id, client


@pytest.fixture
def http(client_id_and_http: tuple[str, httpx.Client]) -> httpx.Client:
    return client_id_and_http[1]


def send(http: httpx.Client, query: str, chat_id: str | None = None, **extra: Any) -> Any:
    body: dict[str, Any] = {"query": query, **QUIET, **extra}
    if chat_id:
        body["chat_id"] = chat_id
    response = http.post("/ai/v1/message", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def page(http: httpx.Client, chat_id: str, **params: Any) -> Any:
    response = http.get("/ai/v1/chat/page", params={"chat_id": chat_id, **params})
    assert response.status_code == 200, response.text
    return response.json()


def test_pages_walk_a_long_chat_newest_first_without_gaps(
    server: V1Server, client_id_and_http: tuple[str, httpx.Client]
) -> None:
    client_id, http = client_id_and_http
    chat_id = seed_long_chat(server.settings, client_id, 501, "long")
    first = page(http, chat_id, limit=100)
    assert first["title"] == "long" and first["has_more"] is True
    texts = [m["message"] for m in first["messages"]]
    assert texts[-1].startswith("Question 251:")  # the newest message comes last in a page
    assert texts[0].startswith("Answer 201:")  # 100 messages back: oldest first within it
    seen = [m["message_id"] for m in first["messages"]]
    cursor = first["before"]
    assert cursor == seen[0]
    pages = 1
    while cursor:
        older = page(http, chat_id, limit=100, before=cursor)
        seen = [m["message_id"] for m in older["messages"]] + seen
        cursor = older["before"]
        pages += 1
        assert older["has_more"] == (cursor is not None)
    assert pages == 6 and len(seen) == len(set(seen)) == 501
    whole = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
    assert [m["message_id"] for m in whole] == seen
    turn = first["messages"][-1]
    assert turn["versions"] == {"position": 1, "count": 1, "ids": [turn["message_id"]]}
    assert turn["role"] == "user" and turn["status"] == "complete"


def test_replies_carry_the_routing_decision_and_model_choices_are_honoured(
    http: httpx.Client,
) -> None:
    answer = send(http, "hello there")
    reply = page(http, answer["chat_id"])["messages"][-1]
    assert reply["role"] == "kallm" and reply["message_id"] == answer["message_id"]
    routing = reply["routing"]
    assert routing["mechanism"] == "auto_routing" and routing["tier"].startswith("tier_")
    assert 0 < routing["confidence"] <= 1 and routing["reason"]
    assert routing["model"] == answer["model"]

    chosen = send(http, "hello there", answer["chat_id"], model="echo-deep")
    assert chosen["model"] == "echo-deep"
    family = send(http, "hello there", answer["chat_id"], model_family="anthropic")
    assert family["model"] == "echo-deep"
    newest = page(http, answer["chat_id"], limit=4)["messages"]
    assert [m["routing"]["mechanism"] for m in newest if m["role"] == "kallm"] == [
        "direct_model_selection",
        "model_family",
    ]


def test_bad_routing_and_paging_input_is_refused_and_writes_nothing(
    server: V1Server, http: httpx.Client
) -> None:
    answer = send(http, "hello there")
    chat_id = answer["chat_id"]
    both = http.post(
        "/ai/v1/message",
        json={"query": "hi", "chat_id": chat_id, "model": "echo-deep", "model_family": "openai"},
    )
    assert both.status_code == 422
    unknown = http.post("/ai/v1/message", json={"query": "hi", "chat_id": chat_id, "model": "nope"})
    assert unknown.status_code == 404 and "nope" in unknown.text
    family = http.post(
        "/ai/v1/message", json={"query": "hi", "chat_id": chat_id, "model_family": "ibm"}
    )
    assert family.status_code == 422
    assert len(page(http, chat_id)["messages"]) == 2  # none of them stored a turn

    for params in ({"limit": 0}, {"limit": 201}, {"before": "a\x00b"}):
        refused = http.get("/ai/v1/chat/page", params={"chat_id": chat_id, **params})
        assert refused.status_code == 422, params
    stranger = http.get("/ai/v1/chat/page", params={"chat_id": chat_id, "before": "m-nope"})
    assert stranger.status_code == 404
    assert stranger.json()["error"]["name"] == "MESSAGE_NOT_FOUND"
    _, other_headers = server.new_client()
    with server.client(other_headers) as other:
        hidden = other.get("/ai/v1/chat/page", params={"chat_id": chat_id})
        assert hidden.status_code == 404  # another client's chat does not exist for it
        other_answer = other.post("/ai/v1/message", json={"query": "hey", **QUIET}).json()
    foreign = http.get(
        "/ai/v1/chat/page", params={"chat_id": chat_id, "before": other_answer["message_id"]}
    )
    assert foreign.status_code == 404


def test_versions_follow_edits_regenerations_and_branch_switches(http: httpx.Client) -> None:
    first = send(http, "Who wrote Romans?")
    chat_id = first["chat_id"]
    second = send(http, "Where was he?", chat_id)
    question_id = page(http, chat_id)["messages"][-2]["message_id"]
    for text in ("When was it?", "To whom?"):
        edited = http.post(
            "/ai/v1/chat/edit",
            json={"chat_id": chat_id, "message_id": question_id, "query": text, **QUIET},
        )
        assert edited.status_code == 200, edited.text
    newest = page(http, chat_id)["messages"]
    assert [m["message"] for m in newest] == [
        "Who wrote Romans?",
        "Who wrote Romans?",
        "To whom?",
        "To whom?",
    ]
    question = newest[2]
    assert question["versions"]["position"] == 3 and question["versions"]["count"] == 3
    assert question["versions"]["ids"][0] == question_id
    assert newest[0]["versions"]["count"] == 1 and newest[3]["versions"]["count"] == 1

    regenerated = http.post(
        "/ai/v1/chat/regenerate",
        json={"chat_id": chat_id, "message_id": newest[3]["message_id"], **QUIET},
    )
    assert regenerated.status_code == 200
    reply = page(http, chat_id)["messages"][-1]
    assert (reply["versions"]["position"], reply["versions"]["count"]) == (2, 2)

    switched = http.post("/ai/v1/chat/branch", json={"chat_id": chat_id, "message_id": question_id})
    assert switched.status_code == 200
    back = page(http, chat_id)["messages"]
    assert back[-1]["message_id"] == second["message_id"]
    assert back[2]["versions"]["position"] == 1 and back[2]["versions"]["count"] == 3
    # Paging a branched chat walks the active branch only.
    older = page(http, chat_id, limit=2)
    assert older["has_more"] is True
    rest = page(http, chat_id, limit=2, before=older["before"])
    assert [m["message"] for m in rest["messages"]] == ["Who wrote Romans?", "Who wrote Romans?"]
    assert rest["has_more"] is False and rest["before"] is None
