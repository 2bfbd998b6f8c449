"""Many clients at once, on SQLite and PostgreSQL: parallel sends keep every chat gapless and
each question followed by its own reply; Idempotency-Key retries write nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.store import Database
from emmaus.store.database import database_url_for
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

CHATS = 5
SENDS = 120
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(tmp_path_factory.mktemp("v1-load"), upstream, module_database_url)
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


async def test_parallel_sends_keep_order_in_every_chat(server: V1Server) -> None:
    client_id, headers = server.new_client()
    limits = httpx.Limits(max_connections=SENDS)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=headers, timeout=120, limits=limits
    ) as http:
        chats = [
            (await http.post("/ai/v1/chat", json={"title": f"load {i}"})).json()["chat_id"]
            for i in range(CHATS)
        ]

        async def send(n: int) -> httpx.Response:
            chat_id = chats[n % CHATS]
            body = {"query": f"message {n} for {chat_id}", "chat_id": chat_id, **QUIET}
            return await http.post("/ai/v1/message", json=body)

        responses = await asyncio.gather(*(send(n) for n in range(SENDS)))
        assert [r.status_code for r in responses] == [200] * SENDS, [
            r.text for r in responses if r.status_code != 200
        ][:3]
        histories = [(await http.get("/ai/v1/chat", params={"chat_id": c})).json() for c in chats]

    db = Database(database_url_for(server.settings))
    try:
        manager = ConversationManager(db)
        for chat_id, history in zip(chats, histories, strict=True):
            stored = await manager.all_messages(client_id, chat_id)
            count = 2 * (SENDS // CHATS)
            assert [m.seq for m in stored] == list(range(1, count + 1))  # gapless, ordered
            messages = history["messages"]
            assert len(messages) == count
            for question, reply in zip(messages[::2], messages[1::2], strict=True):
                assert question["role"] == "user" and reply["role"] == "kallm"
                assert question["query_id"] == reply["query_id"]
                assert reply["message"] == question["message"]  # its own answer (echo)
                assert question["message"].endswith(f"for {chat_id}")
            sent = sorted(m["message"] for m in messages[::2])
            expected = sorted(
                f"message {n} for {chat_id}" for n in range(SENDS) if chats[n % CHATS] == chat_id
            )
            assert sent == expected
    finally:
        await db.aclose()


def test_a_retry_with_the_same_key_returns_the_first_result(server: V1Server) -> None:
    _, headers = server.new_client()
    with server.client(headers) as http:
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = http.post("/ai/v1/message", json={"query": "only once", **QUIET}, headers=key)
        again = http.post("/ai/v1/message", json={"query": "only once", **QUIET}, headers=key)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()  # same chat, ids and timestamp
        chats = http.get("/ai/v1/chats").json()["chats"]
        assert [c["chat_id"] for c in chats] == [first.json()["chat_id"]]
        history = http.get("/ai/v1/chat", params={"chat_id": first.json()["chat_id"]}).json()
        assert len(history["messages"]) == 2

        # The same key on a different request is refused, and writes nothing.
        other = http.post("/ai/v1/message", json={"query": "something else"}, headers=key)
        assert other.status_code == 422
        assert other.json()["error"]["name"] == "IDEMPOTENCY_KEY_REUSED"

        # A streamed retry of the same request replays the stored answer as a stream.
        streamed = http.post(
            "/ai/v1/message", json={"query": "only once", "stream": True, **QUIET}, headers=key
        )
        assert streamed.status_code == 200 and '"message":"only once"' in streamed.text
        assert streamed.text.rstrip().endswith("data: [DONE]")
        assert len(http.get("/ai/v1/chats").json()["chats"]) == 1


def test_keys_belong_to_one_client(server: V1Server) -> None:
    key = {"Idempotency-Key": "shared-key"}
    results = []
    for _ in range(2):
        _, headers = server.new_client()
        with server.client(headers) as http:
            response = http.post("/ai/v1/message", json={"query": "hi", **QUIET}, headers=key)
            assert response.status_code == 200
            results.append(response.json()["chat_id"])
    assert results[0] != results[1]


async def test_simultaneous_retries_write_one_turn(server: V1Server) -> None:
    _, headers = server.new_client()
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60) as http:
        chat_id = (await http.post("/ai/v1/chat", json={"title": "t"})).json()["chat_id"]
        key = {"Idempotency-Key": str(uuid.uuid4())}
        body = {"query": "race", "chat_id": chat_id, **QUIET}
        responses = await asyncio.gather(
            *(http.post("/ai/v1/message", json=body, headers=key) for _ in range(6))
        )
        ok = [r for r in responses if r.status_code == 200]
        assert ok and all(r.json() == ok[0].json() for r in ok)
        # A retry that arrives while another instance is still answering would get a 409;
        # in one process it waits for the first answer instead.
        assert all(r.status_code in (200, 409) for r in responses)
        history = (await http.get("/ai/v1/chat", params={"chat_id": chat_id})).json()
        assert len(history["messages"]) == 2
