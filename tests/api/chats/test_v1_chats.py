"""The v1 chat endpoints over HTTP on SQLite and PostgreSQL: pin/title/summary, deletes, the
chat list, validation, isolation between clients, character_limit, streaming and traditions."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, tier_of, upstream_name, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

QUIET = {"enable_suggestions": 0}  # no follow-up completion: these tests look at the answer


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(tmp_path_factory.mktemp("v1-chats"), upstream, module_database_url)
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
def http(server: V1Server) -> Iterator[httpx.Client]:
    _, headers = server.new_client()  # each test its own client: its own chats
    with server.client(headers) as client:
        yield client


def send(http: httpx.Client, query: str, chat_id: str | None = None, **extra: object) -> dict:
    body: dict[str, object] = {"query": query, **QUIET, **extra}
    if chat_id:
        body["chat_id"] = chat_id
    response = http.post("/ai/v1/message", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def sse_events(response: httpx.Response) -> list[object]:
    events: list[object] = []
    for block in response.text.split("\n\n"):
        if block.startswith("data: "):
            payload = block.removeprefix("data: ")
            events.append(payload if payload == "[DONE]" else orjson.loads(payload))
    return events


def test_pin_rename_and_summary(http: httpx.Client) -> None:
    created = http.post("/ai/v1/chat", json={"title": "Start"})
    assert created.status_code == 200
    chat_id = created.json()["chat_id"]
    assert created.json()["messages"] == [] and created.json()["title"] == "Start"
    for field, value, stored in (
        ("pin", True, True),
        ("title", "Renamed", "Renamed"),
        ("summary", "We talked.", "We talked."),
        ("pin", "false", False),
        ("pin", 1, True),
    ):
        response = http.patch(
            "/ai/v1/chat",
            params={"chat_id": chat_id, "chat_field": field},
            json={"new_value": value},
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"chat_id": chat_id, "field": field, "value": stored}
    chat = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()
    assert (chat["pin"], chat["title"], chat["summary"]) == (True, "Renamed", "We talked.")

    bad = http.patch(
        "/ai/v1/chat",
        params={"chat_id": chat_id, "chat_field": "pin"},
        json={"new_value": "maybe"},
    )
    assert bad.status_code == 422
    unknown_field = http.patch(
        "/ai/v1/chat", params={"chat_id": chat_id, "chat_field": "color"}, json={"new_value": 1}
    )
    assert unknown_field.status_code == 422 and unknown_field.json()["detail"][0]["loc"] == [
        "query",
        "chat_field",
    ]
    missing = http.patch(
        "/ai/v1/chat",
        params={"chat_id": "cmissing", "chat_field": "pin"},
        json={"new_value": True},
    )
    assert missing.status_code == 404


def test_invalid_requests_get_clear_errors_and_change_nothing(http: httpx.Client) -> None:
    no_chat_id = http.get("/ai/v1/chat")
    assert no_chat_id.status_code == 422
    detail = no_chat_id.json()["detail"][0]
    assert (detail["type"], detail["loc"], detail["msg"]) == (
        "missing",
        ["query", "chat_id"],
        "Field required",
    )
    invalid = ({}, {"query": ""}, {"query": "x", "intent": 5}, {"query": "x", "stream": "perhaps"})
    for body in invalid:
        assert http.post("/ai/v1/message", json=body).status_code == 422, body
    assert (
        http.post("/ai/v1/message", params={"enable_sources": 7}, json={"query": "x"}).status_code
        == 422
    )
    malformed = http.post(
        "/ai/v1/message", content=b'{"query": ', headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert http.delete("/ai/v1/message").status_code == 422
    for call in (  # NUL cannot be stored (PostgreSQL text): refused, not a 500
        lambda: http.post("/ai/v1/message", json={"query": "a\x00b"}),
        lambda: http.get("/ai/v1/chat", params={"chat_id": "c\x00"}),
        lambda: http.post("/ai/v1/chat", json={"title": "t\x00"}),
        lambda: http.post("/ai/v1/message", json={"query": "a", "character_limit": 2**70}),
    ):
        assert call().status_code == 422
    unknown = http.post("/ai/v1/message", json={"query": "hi", "chat_id": "cnope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["name"] == "CHAT_NOT_FOUND"
    assert http.get("/ai/v1/chats").json()["chats"] == []


def test_delete_a_message_then_an_exchange(http: httpx.Client) -> None:
    first = send(http, "one")
    chat_id = first["chat_id"]
    second = send(http, "two", chat_id)
    third = send(http, "three", chat_id)
    gone = http.delete("/ai/v1/message", params={"message_id": first["message_id"]})
    assert gone.status_code == 200
    assert gone.json() == {
        "deleted": True,
        "message_id": first["message_id"],
        "deleted_message_ids": [first["message_id"]],
    }
    exchange = http.delete("/ai/v1/message", params={"query_id": second["query_id"]})
    assert exchange.status_code == 200 and len(exchange.json()["deleted_message_ids"]) == 2
    history = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()
    assert [m["message"] for m in history["messages"]] == ["one", "three", "three"]
    assert history["messages"][-1]["message_id"] == third["message_id"]
    again = http.delete("/ai/v1/message", params={"message_id": first["message_id"]})
    assert again.status_code == 404
    # The chat goes on after deletions.
    assert send(http, "four", chat_id)["message"] == "four"


def test_list_page_by_page_and_delete_chats(http: httpx.Client) -> None:
    made = [
        http.post("/ai/v1/chat", json={"title": f"chat {i}"}).json()["chat_id"] for i in range(5)
    ]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = http.get("/ai/v1/chats", params=params).json()
        seen += [c["chat_id"] for c in page["chats"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made[::-1]
    deleted = http.delete("/ai/v1/chat", params={"chat_id": made[0]})
    assert deleted.json() == {"deleted": True, "chat_id": made[0]}
    assert http.get("/ai/v1/chat", params={"chat_id": made[0]}).status_code == 404
    assert http.delete("/ai/v1/chat", params={"chat_id": made[0]}).status_code == 404
    assert len(http.get("/ai/v1/chats").json()["chats"]) == 4
    assert http.get("/ai/v1/chats", params={"limit": 0}).status_code == 422
    assert http.get("/ai/v1/chats", params={"cursor": "garbage"}).status_code == 422


def test_another_clients_chat_is_a_404_everywhere(server: V1Server, http: httpx.Client) -> None:
    mine = send(http, "private")
    chat_id = mine["chat_id"]
    _, other_headers = server.new_client()
    with server.client(other_headers) as other:
        calls = [
            other.get("/ai/v1/chat", params={"chat_id": chat_id}),
            other.patch(
                "/ai/v1/chat",
                params={"chat_id": chat_id, "chat_field": "title"},
                json={"new_value": "mine now"},
            ),
            other.delete("/ai/v1/chat", params={"chat_id": chat_id}),
            other.delete("/ai/v1/message", params={"message_id": mine["message_id"]}),
            other.delete("/ai/v1/message", params={"query_id": mine["query_id"]}),
            other.post("/ai/v1/message", json={"query": "hi", "chat_id": chat_id, **QUIET}),
            other.post(
                "/ai/v1/message", params={"chat_id": chat_id}, json={"query": "hi", **QUIET}
            ),
        ]
        assert [c.status_code for c in calls] == [404] * len(calls)
        assert other.get("/ai/v1/chats").json()["chats"] == []
    history = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()
    assert [m["message"] for m in history["messages"]] == ["private", "private"]
    assert history["title"] is not None  # the fallback title: the question's first words


def test_character_limit_cuts_at_a_sentence_and_is_told_to_the_model(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    text = "First sentence here. Second sentence is longer than that. Third one never fits."
    capped = send(http, text, character_limit=60)["message"]
    assert capped == "First sentence here. Second sentence is longer than that."
    request = upstream.last_request(upstream_name(tier_of(text)))
    assert request is not None
    body = request["body"]
    assert body["max_tokens"] == 60 // 3 + 16
    assert "under 60 characters" in body["messages"][0]["content"]
    words = send(http, "one two three four five six seven", character_limit=12)["message"]
    assert words == "one two"
    streamed = http.post(
        "/ai/v1/message", json={"query": text, "character_limit": 60, "stream": True, **QUIET}
    )
    events = sse_events(streamed)
    pieces = "".join(e["message"] for e in events[:-2] if isinstance(e, dict))
    assert pieces == events[-2]["message"] == capped  # type: ignore[index]


# Long enough to arrive in several pieces: the output screen holds back ~200 characters.
STREAMED = ("The Sermon on the Mount is found in Matthew chapters five to seven. " * 8).strip()


def test_streaming_events_then_the_v1_object_then_done(http: httpx.Client) -> None:
    response = http.post("/ai/v1/message", json={"query": STREAMED, "stream": True, **QUIET})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    final = events[-2]
    assert isinstance(final, dict) and final["success"] is True
    assert set(final) >= {"chat_id", "query_id", "message_id", "timestamp", "suggestions"}
    deltas = events[:-2]
    assert len(deltas) > 1 and all(set(d) == {"message"} for d in deltas)  # type: ignore[arg-type]
    assert "".join(d["message"] for d in deltas) == final["message"] == STREAMED  # type: ignore[index]
    history = http.get("/ai/v1/chat", params={"chat_id": final["chat_id"]}).json()
    assert history["messages"][0]["stream"] is True
    kallm = http.post(
        "/ai/v1/message/kallm",
        json={"query": "Short", "stream": True, "chat_id": final["chat_id"], **QUIET},
    )
    assert set(sse_events(kallm)[-2]) == {"query_id", "message_id", "message", "timestamp"}  # type: ignore[arg-type]


def test_a_chat_tradition_reaches_the_model(http: httpx.Client, upstream: UpstreamHandle) -> None:
    chat_id = http.post("/ai/v1/chat", json={"title": "t", "tradition": "catholic"}).json()[
        "chat_id"
    ]
    send(http, "What is grace?", chat_id)
    model = upstream_name(tier_of("What is grace?"))
    system = upstream.last_request(model)["body"]["messages"][0]  # type: ignore[index]
    assert system["role"] == "system" and "Roman Catholic" in system["content"]
    bad = http.post("/ai/v1/chat", json={"tradition": "gnostic"})
    assert bad.status_code == 422


GARDEN = (
    "Tending a vegetable garden\n\n"
    "Tomatoes need six hours of sun a day and deep watering twice a week. "
    "Mulch keeps the soil moist and stops weeds from growing between the rows."
)


def test_sources_come_from_the_clients_library(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    uploaded = http.post(
        "/ai/v2/library/documents",
        files={"file": ("garden.txt", GARDEN.encode())},
        data={"publisher": "Home", "url": "https://example.org/garden"},
    )
    assert uploaded.status_code == 201, uploaded.text
    question = "How often should I water tomatoes?"
    answer = send(http, question, publishers=["Home"], sources_limit=2)
    assert answer["intent"] == 1 and answer["sources_limit"] == 2
    source = answer["sources"][0]
    assert set(source) == {"item_id", "item_title", "publisher", "url", "snippet", "score"}
    assert source["publisher"] == "Home" and "watering twice a week" in source["snippet"]
    sent = upstream.last_request(upstream_name(tier_of(question)))["body"]["messages"]  # type: ignore[index]
    assert "Sources from trusted publishers" in sent[0]["content"]  # the instruction: system
    reference = sent[-2]  # the sources: a delimited block of data just before the question
    assert reference["role"] == "user" and "<sources>" in reference["content"]
    assert "twice a week" in reference["content"] and "twice a week" not in sent[0]["content"]
    assert sent[-1]["content"] == question
    history = http.get("/ai/v1/chat", params={"chat_id": answer["chat_id"]}).json()
    assert history["messages"][1]["sources"] == answer["sources"]

    skipped = send(http, question, answer["chat_id"], intent=0)
    assert skipped["sources"] == [] and skipped["intent"] == 0
    off = send(http, question, answer["chat_id"], enable_sources=0)
    assert off["sources"] == [] and off["intent"] == 0
