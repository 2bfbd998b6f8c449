"""The optional Redis context cache, on SQLite and PostgreSQL with the Redis on loopback: the
next turn's context comes from it, and any other write to the chat invalidates it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from emmaus.conversations.cache import ContextCache
from emmaus.conversations.context import ContextBuilder, SystemPart
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE
from emmaus.conversations.types import NewMessage, ReplyUpdate, Turn
from emmaus.store import Database

ALICE, BOB = "alice", "bob"  # replaced per test by conftest.fresh_clients
SYSTEM = [SystemPart("system", 2)]


@pytest.fixture
async def cache(redis_url: str, redis_prefix: str) -> AsyncIterator[ContextCache]:
    cache = ContextCache(Redis.from_url(redis_url), prefix=redis_prefix)
    try:
        yield cache
    finally:
        await cache.aclose()


@pytest.fixture
def manager(db: Database, cache: ContextCache) -> ConversationManager:
    return ConversationManager(db, cache=cache)


async def turn(manager: ConversationManager, chat_id: str, text: str) -> tuple[Turn, list[str]]:
    """One exchange; returns the turn and the contents of the context built for it."""
    started = await manager.start_turn(ALICE, chat_id, NewMessage("user", text, token_count=2))
    assert isinstance(started, Turn)
    builder = ContextBuilder(manager, cache=manager.cache)
    window = await builder.build(
        started.chat, budget=10_000, system=SYSTEM, before=started.reply, question=started.user
    )
    await manager.finish_reply(started.reply, ReplyUpdate(f"re: {text}", COMPLETE, 2))
    return started, [m.content or "" for m in window.messages[1:]]


async def test_the_next_turn_reads_its_context_from_the_cache(
    manager: ConversationManager, cache: ContextCache
) -> None:
    chat = await manager.import_chat(ALICE, [NewMessage("user", "old", token_count=2)])
    _, context = await turn(manager, chat.id, "one")
    assert context == ["old", "one"] and cache.hits == 0  # first turn: read and remembered
    _, context = await turn(manager, chat.id, "two")
    assert context == ["old", "one", "re: one", "two"] and cache.hits == 1
    _, context = await turn(manager, chat.id, "three")
    assert context == ["old", "one", "re: one", "two", "re: two", "three"]
    assert cache.hits == 2


async def test_any_other_write_invalidates(
    manager: ConversationManager, cache: ContextCache
) -> None:
    chat = await manager.import_chat(ALICE, [NewMessage("user", "old", token_count=2)])
    first, _ = await turn(manager, chat.id, "one")
    await turn(manager, chat.id, "two")
    await manager.delete_messages(ALICE, query_id=first.user.query_id)
    hits = cache.hits
    _, context = await turn(manager, chat.id, "three")
    assert cache.hits == hits  # a miss: the deleted exchange must not come back
    assert context == ["old", "two", "re: two", "three"]


async def test_a_put_racing_an_invalidation_is_never_read(
    manager: ConversationManager, cache: ContextCache
) -> None:
    chat = await manager.import_chat(ALICE, [NewMessage("user", "old", token_count=2)])
    _, generation = await cache.lookup(chat.id, "anything")
    rows = await manager.recent(chat, limit=10)
    await cache.invalidate(chat.id)  # a write lands between the read and the put
    assert generation is not None
    await cache.put(chat.id, generation, rows, complete=True)
    entry, _ = await cache.lookup(chat.id, rows[0].id)
    assert entry is None


async def test_redis_down_is_a_miss_not_an_error(manager: ConversationManager) -> None:
    broken = ContextCache(Redis.from_url("redis://127.0.0.1:1/0"), prefix="x:")
    manager.cache = broken
    try:
        chat = await manager.import_chat(ALICE, [NewMessage("user", "old", token_count=2)])
        _, context = await turn(manager, chat.id, "one")
        _, context = await turn(manager, chat.id, "two")
        assert context == ["old", "one", "re: one", "two"]
    finally:
        await broken.aclose()
