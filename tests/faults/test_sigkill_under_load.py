"""`emmaus serve` killed with SIGKILL while clients send v1 turns, then restarted on the same
database: every turn a client saw acknowledged (a 200 with its ids) is stored, question and
answer, complete and in order. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emmaus.conversations.manager import ConversationManager
from emmaus.store import Database
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.api.chats.test_v1_crash import emmaus_process
from tests.api.chats.v1_support import v1_settings
from tests.support.auth import create_client, fetch_token
from tests.support.module_databases import module_database_url  # noqa: F401

SENDERS = 8
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


def send_until_the_server_dies(
    base_url: str, headers: dict[str, str], sender: int, acknowledged: list[dict]
) -> None:
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        try:
            chat_id = http.post("/ai/v1/chat", json={"title": f"load {sender}"}).json()["chat_id"]
            for turn in range(10_000):
                query = f"Sender {sender} asks question number {turn}: what is grace?"
                body = {"query": query, "chat_id": chat_id, **QUIET}
                response = http.post("/ai/v1/message", json=body)
                if response.status_code == 200:
                    acknowledged.append({"query": query, **response.json()})
        except httpx.TransportError:
            return  # the server died mid-request: that turn was never acknowledged


def test_every_acknowledged_turn_survives_sigkill(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path: Path,
) -> None:
    settings = v1_settings(tmp_path, upstream, module_database_url)
    env = {
        "EMMAUS_DATA_DIR": str(tmp_path),
        "EMMAUS_MODELS": str(settings.models),
        "EMMAUS_DATABASE_URL": module_database_url,
        "EMMAUS_UPSTREAM_RETRIES": "0",
        "EMMAUS_CHAT_TITLES": "false",
    }
    client_id, secret = create_client(settings)
    acknowledged: list[dict] = []
    with emmaus_process(env) as (server, base_url):
        headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
        senders = [
            threading.Thread(
                target=send_until_the_server_dies, args=(base_url, headers, i, acknowledged)
            )
            for i in range(SENDERS)
        ]
        for thread in senders:
            thread.start()
        deadline = time.monotonic() + 30
        while len(acknowledged) < 40:  # under load: turns are landing when the kill comes
            assert time.monotonic() < deadline, "the server acknowledged too few turns"
            time.sleep(0.02)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        for thread in senders:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in senders)

    with emmaus_process(env) as (_, base_url):  # a restart runs recovery on start
        headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
        assert httpx.get(f"{base_url}/ai/v1/chats", headers=headers).status_code == 200

    async def stored() -> dict[str, list]:
        db = Database(module_database_url)
        try:
            manager = ConversationManager(db)
            chats = {turn["chat_id"] for turn in acknowledged}
            return {chat: await manager.all_messages(client_id, chat) for chat in chats}
        finally:
            await db.aclose()

    messages = asyncio.run(stored())
    for turn in acknowledged:
        rows = {m.id: m for m in messages[turn["chat_id"]]}
        question = next(
            m for m in rows.values() if m.query_id == turn["query_id"] and m.role == "user"
        )
        answer = rows[turn["message_id"]]
        assert question.content == turn["query"] and question.status == "complete"
        assert answer.status == "complete" and answer.content == turn["message"]
        assert answer.seq > question.seq
