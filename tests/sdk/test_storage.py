"""The client-managed store on SQLite and PostgreSQL: migrations, conversations, ordered
messages, branches, idempotent imports by `source_id`, context windows from stored token counts,
summaries, and concurrent writers from two engines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect

from emmaus_client.storage import (
    SCHEMA_VERSION,
    ConversationManager,
    ConversationNotFound,
    DuplicateSource,
    MessageNotFound,
    NewMessage,
    StoredMessage,
)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ConversationManager]:
    manager = await ConversationManager.open(database_url)
    try:
        yield manager
    finally:
        await manager.aclose()


async def test_migrations_create_the_tables_once(database_url: str) -> None:
    first, second = ConversationManager(database_url), ConversationManager(database_url)
    try:
        versions = await asyncio.gather(first.migrate(), second.migrate())  # two starts at once
        assert versions == [SCHEMA_VERSION, SCHEMA_VERSION]
        assert await first.migrate() == SCHEMA_VERSION

        async with first.engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            columns = await connection.run_sync(
                lambda c: {col["name"] for col in inspect(c).get_columns("emmaus_messages")}
            )
        assert {"emmaus_conversations", "emmaus_messages", "emmaus_schema"} <= tables
        assert {"role", "content", "tokens_used", "model", "parent_id", "source_id"} <= columns
    finally:
        await first.aclose()
        await second.aclose()


async def test_conversations_are_kept_per_user(store: ConversationManager) -> None:
    chat = await store.create_conversation(
        "user-1", title="Romans", tradition="catholic", model="echo-mid"
    )
    assert chat.created_at.tzinfo is not None and chat.head_message_id is None
    assert (await store.get_conversation(chat.id, user_id="user-1")).title == "Romans"
    with pytest.raises(ConversationNotFound):
        await store.get_conversation(chat.id, user_id="user-2")
    await store.create_conversation("user-1", title="Later")
    await store.create_conversation("user-2", title="Someone else's")
    assert [c.title for c in await store.list_conversations("user-1")] == ["Later", "Romans"]

    updated = await store.update_conversation(chat.id, title="Romans 8", meta={"pin": True})
    assert (updated.title, updated.tradition, updated.meta) == (
        "Romans 8",
        "catholic",
        {"pin": True},
    )
    assert await store.delete_conversation(chat.id)
    assert not await store.delete_conversation(chat.id)
    with pytest.raises(ConversationNotFound):
        await store.add_message(chat.id, "user", "anyone there?")


async def test_messages_keep_order_and_branches(store: ConversationManager) -> None:
    chat = await store.create_conversation("u")
    question = await store.add_message(chat.id, "user", "Who wrote Romans?")
    answer = await store.add_message(chat.id, "assistant", "Paul.", tokens_used=3, model="m1")
    assert (question.seq, answer.seq) == (1, 2) and answer.parent_id == question.id
    # A regeneration: a sibling of the answer, which becomes the active branch.
    again = await store.add_message(
        chat.id, "assistant", "The apostle Paul.", parent_id=question.id
    )
    assert [m.content for m in await store.get_history(chat.id)] == [
        "Who wrote Romans?",
        "The apostle Paul.",
    ]
    await store.set_head(chat.id, answer.id)
    assert [m.id for m in await store.get_history(chat.id)] == [question.id, answer.id]
    assert [m.id for m in await store.get_history(chat.id, leaf_id=again.id)][-1] == again.id
    assert [m.seq for m in await store.get_tree(chat.id)] == [1, 2, 3]
    assert await store.count_messages(chat.id) == 3
    other = await store.create_conversation("u")
    with pytest.raises(MessageNotFound):
        await store.set_head(other.id, answer.id)
    with pytest.raises(ValueError):
        await store.add_message(chat.id, "kallm", "v1's role is stored as assistant")


async def test_an_import_is_idempotent_by_source_id(store: ConversationManager) -> None:
    moment = datetime(2025, 7, 14, 19, 4, 56, tzinfo=UTC)
    chat = await store.create_conversation(
        "u", title="Imported", source_id="gloo:c1", created_at=moment
    )
    assert chat.created_at == moment
    with pytest.raises(DuplicateSource):
        await store.create_conversation("u", source_id="gloo:c1")
    assert (await store.find_conversation(source_id="gloo:c1")) == chat
    # A branched tree (ChatGPT's mapping): ids chosen up front, parents before children.
    tree = [
        NewMessage("user", "Q", id="n1", parent_id=None, source_id="n1", created_at=moment),
        NewMessage("assistant", "A1", id="n2", parent_id="n1", source_id="n2"),
        NewMessage("assistant", "A2", id="n3", parent_id="n1", source_id="n3"),
        NewMessage("user", "Q2", id="n4", parent_id="n3", source_id="n4"),
    ]
    stored = await store.add_messages(chat.id, tree, activate=False)
    assert stored[0].created_at == moment
    await store.set_head(chat.id, "n4")
    assert [m.content for m in await store.get_history(chat.id)] == ["Q", "A2", "Q2"]
    assert (await store.find_message(chat.id, source_id="n2")).content == "A1"  # type: ignore[union-attr]
    # Importing again: the clash is reported and nothing of the batch is written.
    with pytest.raises(DuplicateSource) as clash:
        await store.add_messages(
            chat.id, [NewMessage("user", "new"), NewMessage("user", "Q", source_id="n1")]
        )
    assert clash.value.source_id == "n1"
    assert await store.count_messages(chat.id) == 4


async def test_context_fits_the_budget_from_stored_counts(store: ConversationManager) -> None:
    chat = await store.create_conversation("u")
    for n in range(10):
        await store.add_message(chat.id, "user", f"question {n}", tokens_used=10)
        await store.add_message(chat.id, "assistant", f"answer {n}", tokens_used=20)
    context = await store.build_context(chat.id, budget_tokens=100)
    assert (context.tokens, context.kept, context.dropped) == (90, 6, 14)
    assert context.messages[-1] == {"role": "assistant", "content": "answer 9"}
    assert context.messages[0] == {"role": "user", "content": "question 7"}
    assert context.pending_tokens == 300
    system = "Answer in one short paragraph, kindly."  # 14 tokens by the estimate
    with_system = await store.build_context(chat.id, budget_tokens=100, system=system)
    assert with_system.messages[0] == {"role": "system", "content": system}
    assert (with_system.tokens, with_system.kept) == (94, 5)
    tiny = await store.build_context(chat.id, budget_tokens=1)
    assert tiny.kept == 1  # the newest message is always kept


async def test_summaries_stand_for_older_turns(store: ConversationManager) -> None:
    chat = await store.create_conversation("u")
    for n in range(6):
        await store.add_message(chat.id, "user", f"question {n}", tokens_used=10)
        await store.add_message(chat.id, "assistant", f"answer {n}", tokens_used=10)
    seen: list[tuple[str | None, list[StoredMessage]]] = []

    async def summarizer(previous: str | None, messages: list[StoredMessage]) -> str:
        seen.append((previous, messages))
        return f"{len(messages)} messages ({previous or 'no summary'})"

    assert await store.summarize(chat.id, summarizer, keep_tokens=40) == "8 messages (no summary)"
    assert [m.content for m in seen[0][1]][-1] == "answer 3"  # never cut between Q and A
    context = await store.build_context(chat.id, budget_tokens=1000)
    assert context.summarized == 8 and context.kept == 4 and context.dropped == 0
    assert "8 messages" in context.messages[0]["content"]
    assert await store.summarize(chat.id, summarizer, keep_tokens=40) is None  # nothing new

    await store.add_message(chat.id, "user", "question 6", tokens_used=10)
    await store.add_message(chat.id, "assistant", "answer 6", tokens_used=10)
    assert await store.summarize(chat.id, summarizer, keep_tokens=40) == (
        "2 messages (8 messages (no summary))"
    )
    # On another branch the summary does not apply.
    first = (await store.get_tree(chat.id))[0]
    await store.add_message(chat.id, "assistant", "another first answer", parent_id=first.id)
    branch = await store.build_context(chat.id, budget_tokens=1000)
    assert branch.summarized == 0 and branch.kept == 2


async def test_two_engines_writing_at_once_never_collide(database_url: str) -> None:
    one, two = await ConversationManager.open(database_url), ConversationManager(database_url)
    try:
        chat = await one.create_conversation("u")

        async def write(manager: ConversationManager, tag: str) -> None:
            for n in range(8):
                await manager.add_messages(
                    chat.id, [NewMessage("user", f"{tag}{n}"), NewMessage("assistant", f"{tag}{n}")]
                )

        await asyncio.gather(write(one, "a"), write(two, "b"))
        tree = await one.get_tree(chat.id)
        assert [m.seq for m in tree] == list(range(1, 33))
        # Each batch stayed together and chains onto the previous one: one straight branch.
        history = await one.get_history(chat.id)
        assert len(history) == 32
        assert all(history[i].content == history[i + 1].content for i in range(0, 32, 2))
    finally:
        await one.aclose()
        await two.aclose()
