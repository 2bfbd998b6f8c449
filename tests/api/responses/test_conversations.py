"""The Conversations API (OpenAI SDK and raw HTTP) on one store with v1 chats and Responses:
items in and out, v1 turns visible as items and the other way round, branching by edit and
regeneration, isolation, bad input, concurrent appends, truncation."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from openai import OpenAI

from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server
from tests.api.responses.support import responses_server, responses_settings, sdk
from tests.support.module_databases import module_database_url  # noqa: F401


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    # A small window, so the truncation tests can overflow it with a few long turns.
    settings = responses_settings(
        tmp_path_factory.mktemp("conversations"), upstream, module_database_url, window=1200
    )
    with responses_server(settings) as running:
        yield running


@pytest.fixture
def headers(server: V1Server) -> dict[str, str]:
    return server.new_client()[1]


@pytest.fixture
def client(server: V1Server, headers: dict[str, str]) -> Iterator[OpenAI]:
    with sdk(server, headers) as openai_client:
        yield openai_client


@pytest.fixture
def http(server: V1Server, headers: dict[str, str]) -> Iterator[httpx.Client]:
    with server.client(headers) as raw:
        yield raw


def words(items: list) -> list[str]:
    out = []
    for item in items:
        content = getattr(item, "content", None) or []
        out.append(content[0].text if content else f"<{item.type}>")
    return out


def test_create_items_and_responses_append(client: OpenAI) -> None:
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "Grace to you"}],
        metadata={"topic": "greetings"},
    )
    assert conversation.metadata == {"topic": "greetings"}
    response = client.responses.create(
        model="echo-fast", input="and peace", conversation=conversation.id
    )
    assert response.output_text == "and peace"
    assert response.conversation is not None and response.conversation.id == conversation.id
    listed = client.conversations.items.list(conversation.id, order="asc")
    assert words(listed.data) == ["Grace to you", "and peace", "and peace"]
    assert [i.role for i in listed.data] == ["user", "user", "assistant"]
    first = client.conversations.items.retrieve(listed.data[0].id, conversation_id=conversation.id)
    assert first.content[0].text == "Grace to you"
    client.conversations.update(conversation.id, metadata={"topic": "peace"})
    assert client.conversations.retrieve(conversation.id).metadata == {"topic": "peace"}


def test_items_pagination(client: OpenAI) -> None:
    conversation = client.conversations.create()
    client.conversations.items.create(
        conversation.id,
        items=[{"type": "message", "role": "user", "content": f"note {n}"} for n in range(5)],
    )
    page = client.conversations.items.list(conversation.id, limit=2)  # newest first
    assert words(page.data) == ["note 4", "note 3"] and page.has_more
    rest = client.conversations.items.list(conversation.id, limit=10, after=page.data[-1].id)
    assert words(rest.data) == ["note 2", "note 1", "note 0"] and not rest.has_more


def test_v1_turns_are_items_and_items_are_v1_history(client: OpenAI, http: httpx.Client) -> None:
    sent = http.post("/ai/v1/message", json={"query": "over v1", "enable_suggestions": 0})
    assert sent.status_code == 200, sent.text
    chat_id = sent.json()["chat_id"]
    items = client.conversations.items.list(chat_id, order="asc")
    assert [i.role for i in items.data] == ["user", "assistant"]
    assert words(items.data)[0] == "over v1"
    response = client.responses.create(
        model="echo-fast", input="over responses", conversation=chat_id
    )
    history = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
    assert [m["message"] for m in history][-2:] == ["over responses", "over responses"]
    # A v1 reply is a response too: its id maps over.
    reply_id = history[1]["message_id"]
    assert client.responses.retrieve(f"resp_{reply_id}").output_text == history[1]["message"]
    assert client.responses.retrieve(response.id).status == "completed"


def test_edit_and_regenerate_make_branches(
    client: OpenAI, http: httpx.Client, upstream: UpstreamHandle
) -> None:
    conversation = client.conversations.create()
    client.responses.create(model="echo-fast", input="one", conversation=conversation.id)
    client.responses.create(model="echo-fast", input="two", conversation=conversation.id)
    items = client.conversations.items.list(conversation.id, order="asc").data
    question_two = items[2]
    edited = http.post(
        f"/ai/v1/conversations/{conversation.id}/items/{question_two.id}/edit",
        json={"model": "echo-fast", "input": "two, edited"},
    )
    assert edited.status_code == 200, edited.text
    seen = upstream.last_request("echo+tag-rfast")["body"]["messages"]
    assert [m["content"] for m in seen if m["role"] != "system"] == ["one", "one", "two, edited"]
    active = client.conversations.items.list(conversation.id, order="asc").data
    assert words(active) == ["one", "one", "two, edited", "two, edited"]
    versions = http.get(
        f"/ai/v1/conversations/{conversation.id}/items/{question_two.id}/siblings"
    ).json()
    assert [v["content"][0]["text"] for v in versions["data"]] == ["two", "two, edited"]
    assert versions["active_id"] == active[2].id
    # Back to the first version: its answer comes back with it.
    switched = http.post(f"/ai/v1/conversations/{conversation.id}/items/{question_two.id}/activate")
    assert switched.status_code == 200, switched.text
    assert words(client.conversations.items.list(conversation.id, order="asc").data) == [
        "one",
        "one",
        "two",
        "two",
    ]
    reply = client.conversations.items.list(conversation.id, order="asc").data[-1]
    again = http.post(
        f"/ai/v1/conversations/{conversation.id}/items/{reply.id}/regenerate",
        json={"model": "echo-mid"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["output"][0]["content"][0]["text"] == "two"
    replies = http.get(f"/ai/v1/conversations/{conversation.id}/items/{reply.id}/siblings").json()
    assert len(replies["data"]) == 2 and replies["active_id"] != reply.id


def test_isolation_between_clients(server: V1Server, client: OpenAI) -> None:
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": "mine"}]
    )
    item = client.conversations.items.list(conversation.id).data[0]
    _, other_headers = server.new_client()
    with sdk(server, other_headers) as other:
        with pytest.raises(openai.NotFoundError):
            other.conversations.retrieve(conversation.id)
        with pytest.raises(openai.NotFoundError):
            other.conversations.items.list(conversation.id)
        with pytest.raises(openai.NotFoundError):
            other.conversations.items.retrieve(item.id, conversation_id=conversation.id)
        with pytest.raises(openai.NotFoundError):
            other.conversations.delete(conversation.id)
        with pytest.raises(openai.NotFoundError):
            other.responses.create(model="echo-fast", input="x", conversation=conversation.id)
    assert words(client.conversations.items.list(conversation.id).data) == ["mine"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"input": [{"type": "input_image_call", "role": "user"}]}, "input_image_call"),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, "input_image"),
        ({"input": "x", "tools": [{"type": "web_search"}]}, "web_search"),
        ({"input": "x", "max_token": 5}, "max_token"),
        ({"input": "x", "previous_response_id": "resp_x", "conversation": "c1"}, "together"),
        ({"input": []}, "empty"),
        ({"input": "x", "metadata": {str(n): "v" for n in range(17)}}, "16"),
    ],
)
def test_bad_input_is_a_400_that_names_it(http: httpx.Client, body: dict, named: str) -> None:
    before = http.get("/ai/v1/chats").json()
    response = http.post("/ai/v1/responses", json={"model": "echo-fast", **body})
    assert response.status_code == 400, response.text
    assert named in response.json()["error"]["message"]
    assert http.get("/ai/v1/chats").json() == before  # nothing written


def test_unknown_ids_are_404(http: httpx.Client) -> None:
    assert http.get("/ai/v1/responses/resp_nope").status_code == 404
    assert http.get("/ai/v1/responses/nope").status_code == 404
    assert http.get("/ai/v1/conversations/cnope").status_code == 404
    assert http.get("/ai/v1/conversations/cnope/items").status_code == 404
    created = http.post("/ai/v1/conversations", json={}).json()
    assert http.get(f"/ai/v1/conversations/{created['id']}/items/mnope").status_code == 404
    assert http.get(f"/ai/v1/conversations/{created['id']}/items/fc_m_x").status_code == 404


def test_concurrent_appends_keep_order(client: OpenAI, server: V1Server, headers: dict) -> None:
    conversation = client.conversations.create()

    def send(n: int) -> str:
        with sdk(server, headers) as own:
            return own.responses.create(
                model="echo-fast", input=f"message {n}", conversation=conversation.id
            ).output_text

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(send, range(12)))
    assert sorted(answers) == sorted(f"message {n}" for n in range(12))
    items = client.conversations.items.list(conversation.id, order="asc", limit=100).data
    assert len(items) == 24
    # Every question is followed by its own answer: turns never interleave.
    pairs = list(zip(items[::2], items[1::2], strict=True))
    assert all(q.role == "user" and a.role == "assistant" for q, a in pairs)
    assert all(words([q]) == words([a]) for q, a in pairs)


def test_truncation_disabled_refuses_and_auto_answers(client: OpenAI, http: httpx.Client) -> None:
    long = "word " * 300  # ~300+ tokens a turn, in a 1200-token window
    conversation = client.conversations.create(
        items=[{"type": "message", "role": "user", "content": long} for _ in range(3)]
    )
    before = client.conversations.items.list(conversation.id, limit=100).data
    refused = http.post(
        "/ai/v1/responses",
        json={"model": "echo-fast", "input": "short", "conversation": conversation.id},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["name"] == "CONTEXT_LENGTH_EXCEEDED"
    after = client.conversations.items.list(conversation.id, limit=100).data
    assert [i.id for i in after] == [i.id for i in before]  # nothing half-written
    answered = client.responses.create(
        model="echo-fast", input="short", conversation=conversation.id, truncation="auto"
    )
    assert answered.output_text == "short"


def test_delete_conversation(client: OpenAI) -> None:
    conversation = client.conversations.create()
    deleted = client.conversations.delete(conversation.id)
    assert deleted.deleted is True
    with pytest.raises(openai.NotFoundError):
        client.conversations.retrieve(conversation.id)


def test_hand_added_items_read_as_v1_history(client: OpenAI, http: httpx.Client) -> None:
    conversation = client.conversations.create(
        items=[
            {"type": "message", "role": "user", "content": "Who wrote the letter to the Romans?"},
            {"type": "message", "role": "assistant", "content": "The apostle Paul wrote it."},
            {"type": "message", "role": "system", "content": "Answer in one sentence."},
        ]
    )
    history = http.get("/ai/v1/chat", params={"chat_id": conversation.id})
    assert history.status_code == 200, history.text
    messages = history.json()["messages"]
    assert [(m["role"], m["message"]) for m in messages] == [
        ("user", "Who wrote the letter to the Romans?"),
        ("kallm", "The apostle Paul wrote it."),
    ]
    # And the v1 chat continues the conversation: its turn sees the hand-written items.
    sent = http.post(
        "/ai/v1/message",
        json={
            "query": "When did he write it?",
            "chat_id": conversation.id,
            "enable_suggestions": 0,
        },
    )
    assert sent.status_code == 200, sent.text
    items = client.conversations.items.list(conversation.id, order="asc").data
    assert words(items)[-2:] == ["When did he write it?", "When did he write it?"]
