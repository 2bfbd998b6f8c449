"""Long chats over HTTP on SQLite and PostgreSQL: the context sent upstream is the newest turns
that fit the routed model's window, and older turns get condensed into a summary row."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.types import NewMessage, Summary
from emmaus.engine.providers.token_estimate import estimate_tokens
from emmaus.store import Database
from emmaus.store.database import database_url_for
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, tier_of, upstream_name, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

WINDOW = 1024  # tokens: with max_tokens 256 and the margin, ~640 tokens of context
SEEDED = 1000
QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(
        tmp_path_factory.mktemp("v1-long"), upstream, module_database_url, window=WINDOW
    )
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


@pytest.fixture
async def manager(server: V1Server) -> AsyncIterator[ConversationManager]:
    db = Database(database_url_for(server.settings))
    try:
        yield ConversationManager(db)
    finally:
        await db.aclose()


def seeded(count: int) -> list[NewMessage]:
    messages = []
    for i in range(count):
        text = f"Seeded message {i} about the history of the early church."
        role = "user" if i % 2 == 0 else "assistant"
        messages.append(NewMessage(role, text, token_count=estimate_tokens(text)))
    return messages


async def wait_for_summary(
    manager: ConversationManager, client_id: str, chat_id: str
) -> list[Summary]:
    deadline = time.monotonic() + 15
    while not (found := await manager.summaries(client_id, chat_id)):
        assert time.monotonic() < deadline, "no summary was written"
        await asyncio.sleep(0.05)
    return found


# Routed to tier 1, away from the summaries' own model calls (the upstream's last request of the
# model is then the turn's).
FIRST, SECOND = "Thanks! Quick question: who wrote Acts?", "Got it, thanks."


async def test_newest_turns_fit_the_window_and_older_ones_get_summarised(
    server: V1Server, manager: ConversationManager, upstream: UpstreamHandle
) -> None:
    client_id, headers = server.new_client()
    chat = await manager.import_chat(client_id, seeded(SEEDED), title="long")
    async with httpx.AsyncClient(base_url=server.base_url, headers=headers, timeout=60) as http:
        body = {"query": FIRST, "chat_id": chat.id, **QUIET}
        first = await http.post("/ai/v1/message", json=body)
        assert first.status_code == 200, first.text
        model = upstream_name(tier_of(FIRST))
        sent = upstream.last_request(model)["body"]["messages"]  # type: ignore[index]
        assert sent[0]["role"] == "system" and sent[-1]["content"] == FIRST
        turns = [m["content"] for m in sent[1:-1]]
        assert 10 < len(turns) < 100  # far fewer than the chat holds, but a good share of it
        newest = [
            f"Seeded message {i} about the history of the early church."
            for i in range(SEEDED - len(turns), SEEDED)
        ]
        assert turns == newest  # the newest ones, in order, nothing skipped
        assert sum(estimate_tokens(m["content"]) + 4 for m in sent) < WINDOW - 256

        summaries = await wait_for_summary(manager, client_id, chat.id)
        summary = summaries[-1]
        _, stored = await manager.history(client_id, chat.id)
        by_id = {m.id: m for m in stored}
        assert by_id[summary.first_message_id].seq == summary.from_seq
        assert by_id[summary.last_message_id].seq == summary.to_seq
        assert summary.from_seq <= summary.to_seq < SEEDED and summary.content
        assert len(stored) == SEEDED + 2  # the originals stay in the history

        body = {"query": SECOND, "chat_id": chat.id, **QUIET}
        second = await http.post("/ai/v1/message", json=body)
        assert second.status_code == 200
        sent = upstream.last_request(upstream_name(tier_of(SECOND)))["body"]["messages"]  # type: ignore[index]
        assert f"messages {summary.from_seq}-{summary.to_seq}" in sent[0]["content"]
        kept = [m["content"] for m in sent[1:-1]]
        after = [m.content for m in stored if m.seq > summary.to_seq]
        assert kept == after  # everything the summary does not cover, first exchange included

        history = (await http.get("/ai/v1/chat", params={"chat_id": chat.id})).json()
        assert len(history["messages"]) == SEEDED + 4  # history is the whole chat, not the context
