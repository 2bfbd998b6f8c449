"""Branching over HTTP on a live server, SQLite and PostgreSQL: editing a user turn and
regenerating a reply (JSON and SSE) add siblings that become the active branch, the model is
given the active branch only (checked in the requests the scripted upstream received),
siblings are listed, the active branch is switched and restored whole, `GET /ai/v1/chat`
keeps showing the active branch (`tree=true`: every branch), and bad input writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, tier_of, upstream_name, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

SCRIPT = "echo+tag-branching"  # echo: a reply repeats its question, so turns are traceable
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    data = tmp_path_factory.mktemp("v1-branching")
    settings = v1_settings(
        data, upstream, module_database_url, fast=SCRIPT, mid=SCRIPT, deep=SCRIPT, embedded=False
    )
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
def http(server: V1Server) -> Iterator[httpx.Client]:
    _, headers = server.new_client()  # a client of its own per test
    with server.client(headers) as client:
        yield client


def send(http: httpx.Client, query: str, chat_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query, **QUIET}
    if chat_id:
        body["chat_id"] = chat_id
    response = http.post("/ai/v1/message", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def history(http: httpx.Client, chat_id: str, **params: Any) -> dict[str, Any]:
    response = http.get("/ai/v1/chat", params={"chat_id": chat_id, **params})
    assert response.status_code == 200, response.text
    return response.json()


def texts(http: httpx.Client, chat_id: str) -> list[str]:
    return [m["message"] for m in history(http, chat_id)["messages"]]


def seen_by_model(upstream: UpstreamHandle, query: str) -> list[tuple[str, str]]:
    """(role, content) of the non-system messages the upstream got for the turn asking `query`
    (the v1 turn routes on its question, so `query` names the model that answered it)."""
    last = upstream.last_request(upstream_name(tier_of(query), SCRIPT))
    assert last is not None
    return [(m["role"], m["content"]) for m in last["body"]["messages"] if m["role"] != "system"]


def sse_events(response: httpx.Response) -> list[dict[str, Any]]:
    lines = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]"
    return [orjson.loads(line[6:]) for line in lines[:-1]]


def by_id(tree: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["message_id"]: m for m in tree["messages"]}


def test_an_edit_answers_a_new_branch_and_the_model_sees_only_it(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    first = send(http, "Who wrote the letter to the Romans?")
    chat_id = first["chat_id"]
    second = send(http, "Where was he when he wrote it?", chat_id)
    old_question = history(http, chat_id)["messages"][2]

    edited = http.post(
        "/ai/v1/chat/edit",
        json={"chat_id": chat_id, "message_id": old_question["message_id"], **QUIET,
              "query": "When did he write it?"},
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["success"] is True and body["message"] == "When did he write it?"
    assert body["chat_id"] == chat_id and body["query_id"] != second["query_id"]
    assert body["user_message_id"] != old_question["message_id"]
    # The model was given the new branch: the first exchange and the new question, never the old.
    assert seen_by_model(upstream, "When did he write it?") == [
        ("user", "Who wrote the letter to the Romans?"),
        ("assistant", "Who wrote the letter to the Romans?"),
        ("user", "When did he write it?"),
    ]
    assert texts(http, chat_id) == [
        "Who wrote the letter to the Romans?", "Who wrote the letter to the Romans?",
        "When did he write it?", "When did he write it?",
    ]  # fmt: skip

    # The next message continues the active branch: the old question is not in its context.
    send(http, "And to whom?", chat_id)
    seen = seen_by_model(upstream, "And to whom?")
    assert ("user", "Where was he when he wrote it?") not in seen
    assert seen[-3:] == [
        ("user", "When did he write it?"), ("assistant", "When did he write it?"),
        ("user", "And to whom?"),
    ]  # fmt: skip

    # The whole tree: every message once, with its parent and the active branch marked.
    tree = history(http, chat_id, tree="true")
    messages = by_id(tree)
    assert len(messages) == 8 and len(history(http, chat_id)["messages"]) == 6
    assert messages[old_question["message_id"]]["active"] is False
    assert messages[second["message_id"]]["active"] is False
    new_question = messages[body["user_message_id"]]
    assert new_question["active"] is True
    old_parent = messages[old_question["message_id"]]["parent_id"]
    assert new_question["parent_id"] == old_parent == first["message_id"]
    assert messages[body["message_id"]]["parent_id"] == body["user_message_id"]
    assert messages[body["message_id"]]["status"] == "complete"
    assert tree["head_message_id"] == history(http, chat_id)["messages"][-1]["message_id"]
    assert [m["message_id"] for m in tree["messages"] if m["active"]] == [
        m["message_id"] for m in history(http, chat_id)["messages"]
    ]


def test_an_edit_keeps_the_settings_it_does_not_change(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    asked = http.post(
        "/ai/v1/message",
        json={"query": "Tell me about the Psalms, all of them please", "character_limit": 12,
              "publishers": ["nobody"], **QUIET},
    )  # fmt: skip
    assert asked.status_code == 200 and len(asked.json()["message"]) <= 12
    chat_id = asked.json()["chat_id"]
    question = history(http, chat_id)["messages"][0]
    edited = http.post(
        "/ai/v1/chat/edit",
        json={"chat_id": chat_id, "message_id": question["message_id"],
              "query": "Tell me about the Proverbs, every single one"},
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert len(edited.json()["message"]) <= 12  # the original's character_limit
    new = history(http, chat_id)["messages"][0]
    assert (new["character_limit"], new["publishers"]) == (12, ["nobody"])
    assert edited.json()["suggestions"] == []  # enable_suggestions 0, as first sent


def test_regenerate_streams_a_sibling_reply(http: httpx.Client) -> None:
    first = send(http, "What is grace?")
    chat_id, reply_id = first["chat_id"], first["message_id"]
    user_id = history(http, chat_id)["messages"][0]["message_id"]
    response = http.post(
        "/ai/v1/chat/regenerate", json={"chat_id": chat_id, "message_id": reply_id, "stream": True}
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    final = events[-1]
    assert "".join(e["message"] for e in events[:-1]) == final["message"] == "What is grace?"
    assert final["success"] is True and final["message_id"] != reply_id
    assert final["query_id"] == first["query_id"] and final["user_message_id"] == user_id
    # The ids were in the headers before the first piece (to stop it while it streams).
    assert response.headers["x-emmaus-message-id"] == final["message_id"]
    assert response.headers["x-emmaus-chat-id"] == chat_id
    assert response.headers["x-emmaus-user-message-id"] == user_id

    shown = history(http, chat_id)["messages"]
    assert [m["message_id"] for m in shown] == [user_id, final["message_id"]]

    again = http.post("/ai/v1/chat/regenerate", json={"chat_id": chat_id, "message_id": reply_id})
    assert again.status_code == 200 and again.json()["message"] == "What is grace?"
    siblings = http.get(
        "/ai/v1/chat/siblings", params={"chat_id": chat_id, "message_id": final["message_id"]}
    ).json()
    assert siblings["count"] == 3 and siblings["position"] == 2
    assert siblings["parent_id"] == user_id
    assert [s["message_id"] for s in siblings["siblings"]] == [
        reply_id, final["message_id"], again.json()["message_id"]
    ]  # fmt: skip
    assert siblings["active_message_id"] == again.json()["message_id"]
    assert [s["active"] for s in siblings["siblings"]] == [False, False, True]
    assert {s["role"] for s in siblings["siblings"]} == {"kallm"}
    assert [s["position"] for s in siblings["siblings"]] == [1, 2, 3]


def test_switching_branch_restores_the_whole_branch(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    chat_id = send(http, "Who was Ruth?")["chat_id"]
    send(http, "Who was Naomi?", chat_id)
    send(http, "Who was Boaz?", chat_id)
    old = history(http, chat_id)["messages"]
    edited = http.post(
        "/ai/v1/chat/edit",
        json={"chat_id": chat_id, "message_id": old[2]["message_id"], "query": "Who was Orpah?",
              **QUIET},
    )  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert texts(http, chat_id) == ["Who was Ruth?"] * 2 + ["Who was Orpah?"] * 2

    siblings = http.get(
        "/ai/v1/chat/siblings", params={"chat_id": chat_id, "message_id": old[2]["message_id"]}
    ).json()
    assert (siblings["count"], siblings["position"]) == (2, 1)
    assert siblings["active_message_id"] == edited.json()["user_message_id"]
    assert [s["message"] for s in siblings["siblings"]] == ["Who was Naomi?", "Who was Orpah?"]
    assert {s["role"] for s in siblings["siblings"]} == {"user"}

    # Back to the old question: the branch below it comes back whole, to its newest leaf.
    switched = http.post(
        "/ai/v1/chat/branch", json={"chat_id": chat_id, "message_id": old[2]["message_id"]}
    )
    assert switched.status_code == 200, switched.text
    assert [m["message_id"] for m in switched.json()["messages"]] == [m["message_id"] for m in old]
    assert switched.json()["head_message_id"] == old[-1]["message_id"]
    assert [m["message_id"] for m in history(http, chat_id)["messages"]] == [
        m["message_id"] for m in old
    ]
    send(http, "Who was their son?", chat_id)
    seen = seen_by_model(upstream, "Who was their son?")
    assert ("user", "Who was Orpah?") not in seen
    assert ("user", "Who was Boaz?") in seen and ("user", "Who was Naomi?") in seen

    # And to the edit again, by its reply: the leaf is that reply itself.
    back = http.post(
        "/ai/v1/chat/branch", json={"chat_id": chat_id, "message_id": edited.json()["message_id"]}
    )
    assert back.json()["head_message_id"] == edited.json()["message_id"]
    assert texts(http, chat_id) == ["Who was Ruth?"] * 2 + ["Who was Orpah?"] * 2
    # The root has siblings too once the first question is edited.
    root = history(http, chat_id)["messages"][0]["message_id"]
    edit_root = http.post(
        "/ai/v1/chat/edit",
        json={"chat_id": chat_id, "message_id": root, "query": "Who was Esther?", **QUIET},
    )
    assert edit_root.status_code == 200
    assert texts(http, chat_id) == ["Who was Esther?"] * 2
    root_siblings = http.get(
        "/ai/v1/chat/siblings", params={"chat_id": chat_id, "message_id": root}
    ).json()
    assert root_siblings["parent_id"] is None and root_siblings["count"] == 2


def test_bad_input_is_refused_and_writes_nothing(server: V1Server, http: httpx.Client) -> None:
    first = send(http, "What is hope?")
    chat_id, reply_id = first["chat_id"], first["message_id"]
    user_id = history(http, chat_id)["messages"][0]["message_id"]
    before = history(http, chat_id, tree="true")

    def refused(
        method: str, path: str, status: int, client: httpx.Client = http, **kw: Any
    ) -> None:
        response = client.request(method, path, **kw)
        assert response.status_code == status, (path, kw, response.text)
        body = response.json()
        assert "error" in body and "detail" in body  # the v1 error shape
        if status == 404:
            assert body["error"]["name"] in ("CHAT_NOT_FOUND", "MESSAGE_NOT_FOUND")

    edit = {"chat_id": chat_id, "message_id": user_id, "query": "What is faith?"}
    regen = {"chat_id": chat_id, "message_id": reply_id}
    refused("POST", "/ai/v1/chat/edit", 422, json={**edit, "message_id": reply_id})  # a reply
    refused("POST", "/ai/v1/chat/regenerate", 422, json={**regen, "message_id": user_id})
    refused("POST", "/ai/v1/chat/edit", 422, json={**edit, "query": ""})
    refused("POST", "/ai/v1/chat/edit", 422, json={k: v for k, v in edit.items() if k != "query"})
    refused("POST", "/ai/v1/chat/edit", 422, json={**edit, "text": "typo"})  # unknown field
    refused("POST", "/ai/v1/chat/edit", 422, json={**edit, "tradition": "jedi"})
    refused("POST", "/ai/v1/chat/regenerate", 422, json={**regen, "query": "not here"})
    refused("POST", "/ai/v1/chat/regenerate", 422, json={**regen, "message_id": ""})
    refused("POST", "/ai/v1/chat/regenerate", 422, json={**regen, "character_limit": -1})
    refused("POST", "/ai/v1/chat/regenerate", 400, content=b"{not json",
            headers={"content-type": "application/json"})  # fmt: skip
    refused("POST", "/ai/v1/chat/edit", 404, json={**edit, "message_id": "mnope"})
    refused("POST", "/ai/v1/chat/regenerate", 404, json={**regen, "chat_id": "cnope"})
    refused("GET", "/ai/v1/chat/siblings", 404, params={"chat_id": chat_id, "message_id": "mx"})
    refused("GET", "/ai/v1/chat/siblings", 422, params={"chat_id": chat_id})
    refused("POST", "/ai/v1/chat/branch", 404, json={"chat_id": chat_id, "message_id": "mx"})
    refused("POST", "/ai/v1/chat/branch", 422, json={"chat_id": chat_id})
    refused("GET", "/ai/v1/chat", 422, params={"chat_id": chat_id, "tree": "maybe"})
    # A message of another chat of the same client is not in this one.
    other = send(http, "What is love?")
    refused("POST", "/ai/v1/chat/regenerate", 404,
            json={"chat_id": chat_id, "message_id": other["message_id"]})  # fmt: skip

    # Another client: none of it exists.
    _, headers = server.new_client()
    with server.client(headers) as stranger:
        refused("POST", "/ai/v1/chat/edit", 404, stranger, json=edit)
        refused("POST", "/ai/v1/chat/regenerate", 404, stranger, json=regen)
        refused("POST", "/ai/v1/chat/branch", 404, stranger, json=regen)
        refused("GET", "/ai/v1/chat/siblings", 404, stranger, params=regen)
        refused("GET", "/ai/v1/chat", 404, stranger, params={"chat_id": chat_id, "tree": "true"})
    assert history(http, chat_id, tree="true") == before
