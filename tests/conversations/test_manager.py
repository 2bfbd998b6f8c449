"""ConversationManager on SQLite and PostgreSQL: chats, turns, history, idempotency, listing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import String, cast, select

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED, PENDING, MessageRow
from emmaus.conversations.types import NewMessage, Replay, ReplyUpdate, Turn
from emmaus.errors import ChatNotFound, InvalidChatOperation
from emmaus.store import Database

ALICE, BOB = "alice", "bob"  # replaced per test by conftest.fresh_clients


def user(text: str, **meta: object) -> NewMessage:
    return NewMessage("user", text, token_count=len(text.split()), meta=dict(meta) or None)


async def answer(manager: ConversationManager, turn: Turn, text: str) -> None:
    await manager.finish_reply(turn.reply, ReplyUpdate(text, COMPLETE, len(text.split())))


@pytest.fixture
def manager(db: Database) -> ConversationManager:
    return ConversationManager(db)


async def test_turns_are_stored_in_order_with_shared_query_ids(
    manager: ConversationManager,
) -> None:
    first = await manager.start_turn(ALICE, None, user("What is your name?", stream=False))
    assert isinstance(first, Turn) and first.created_chat
    chat_id = first.chat.id
    assert chat_id.startswith("c") and first.user.id.startswith("m")
    assert first.user.query_id == first.reply.query_id and first.user.query_id.startswith("q")
    assert (first.user.seq, first.reply.seq) == (1, 2) and first.reply.status == PENDING
    await answer(manager, first, "Emmaus.")
    second = await manager.start_turn(ALICE, chat_id, user("And yours?"))
    assert isinstance(second, Turn) and not second.created_chat
    assert second.user.parent_id == first.reply.id

    chat, messages = await manager.history(ALICE, chat_id)
    assert [m.content for m in messages] == ["What is your name?", "Emmaus.", "And yours?"]
    assert messages[0].meta == {"stream": False}
    _, everything = await manager.history(ALICE, chat_id, include_pending=True)
    assert [m.seq for m in everything] == [1, 2, 3, 4]
    assert chat.head_message_id == second.reply.id and chat.last_seq == 4
    assert chat.user_id.startswith("u")


async def test_another_clients_chat_does_not_exist(manager: ConversationManager) -> None:
    chat = await manager.create_chat(ALICE, title="mine")
    for call in (
        manager.get_chat(BOB, chat.id),
        manager.history(BOB, chat.id),
        manager.start_turn(BOB, chat.id, user("hi")),
        manager.update_chat(BOB, chat.id, title="stolen"),
        manager.delete_chat(BOB, chat.id),
    ):
        with pytest.raises(ChatNotFound):
            await call
    assert (await manager.get_chat(ALICE, chat.id)).title == "mine"
    assert (await manager.list_chats(BOB)).chats == []


async def test_rename_pin_summary_and_delete(manager: ConversationManager) -> None:
    chat = await manager.create_chat(ALICE)
    updated = await manager.update_chat(ALICE, chat.id, title="Names", pin=True, summary="s")
    assert (updated.title, updated.pin, updated.summary) == ("Names", True, "s")
    assert updated.updated_at >= chat.updated_at
    turn = await manager.start_turn(ALICE, chat.id, user("hello"))
    assert isinstance(turn, Turn)
    await manager.delete_chat(ALICE, chat.id)
    with pytest.raises(ChatNotFound):
        await manager.history(ALICE, chat.id)
    with pytest.raises(ChatNotFound):
        await manager.delete_chat(ALICE, chat.id)


async def test_list_chats_pages_newest_first(manager: ConversationManager) -> None:
    made = [await manager.create_chat(ALICE, title=f"chat {i}") for i in range(7)]
    await manager.create_chat(BOB)
    seen: list[str] = []
    cursor = None
    while True:
        page = await manager.list_chats(ALICE, limit=3, cursor=cursor)
        seen += [c.id for c in page.chats]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [c.id for c in reversed(made)]
    with pytest.raises(InvalidChatOperation):
        await manager.list_chats(ALICE, cursor="not-a-cursor")


async def test_idempotency_key_replays_and_writes_once(manager: ConversationManager) -> None:
    key = ("key-1", "fingerprint")
    first = await manager.start_turn(ALICE, None, user("once"), idempotency=key)
    assert isinstance(first, Turn)
    again = await manager.start_turn(ALICE, None, user("once"), idempotency=key)
    assert isinstance(again, Replay)
    assert (again.chat_id, again.query_id) == (first.chat.id, first.user.query_id)
    # Keys are per client: Bob's "key-1" is a different key.
    assert isinstance(await manager.start_turn(BOB, None, user("x"), idempotency=key), Turn)
    assert len((await manager.list_chats(ALICE)).chats) == 1


async def test_racing_requests_with_one_key_write_one_turn(manager: ConversationManager) -> None:
    chat = await manager.create_chat(ALICE)
    results = await asyncio.gather(
        *(
            manager.start_turn(ALICE, chat.id, user("race"), idempotency=("k", "f"))
            for _ in range(5)
        )
    )
    assert sum(isinstance(r, Turn) for r in results) == 1
    _, messages = await manager.history(ALICE, chat.id, include_pending=True)
    assert len(messages) == 2


async def test_every_way_of_appending_a_turn_stores_the_same_row(db: Database) -> None:
    """A plain append (on PostgreSQL one statement: `append_pg`) and an append with an
    idempotency key (the ORM's unit of work) write the same columns: JSON null and SQL NULL
    alike, defaults, lease, status."""
    manager = ConversationManager(db, instance_id="instance-a")
    chat = await manager.create_chat(ALICE)
    plain = await manager.start_turn(ALICE, chat.id, user("same", stream=1), context_rows=4)
    keyed = await manager.start_turn(ALICE, chat.id, user("same", stream=1), idempotency=("k", "f"))
    assert isinstance(plain, Turn) and isinstance(keyed, Turn)
    assert keyed.user.parent_id == plain.reply.id and plain.reply.parent_id == plain.user.id
    assert (plain.user.seq, plain.reply.seq, keyed.user.seq) == (1, 2, 3)
    assert plain.chat.head_message_id == plain.reply.id and plain.chat.last_seq == 2
    assert [m.content for m in plain.preloaded.rows] == ["same"]  # type: ignore[union-attr]
    columns = [c for c in MessageRow.__table__.columns if c.name not in _PER_ROW]
    # Each column as the database holds it: JSON null and SQL NULL read apart.
    shown = [cast(c, String).label(c.name) for c in columns]
    shown += [(c == None).label(f"{c.name} is null") for c in columns]  # noqa: E711
    async with db.session() as session:
        rows = (
            await session.execute(
                select(*shown).where(MessageRow.chat_id == chat.id).order_by(MessageRow.seq)
            )
        ).all()
    assert [tuple(r) for r in rows[:2]] == [tuple(r) for r in rows[2:]]
    stored = await manager.history(ALICE, chat.id, include_pending=True)
    assert [(m.seq, m.status) for m in stored[1]] == [
        (1, COMPLETE),
        (2, PENDING),
        (3, COMPLETE),
        (4, PENDING),
    ]


_PER_ROW = {"id", "seq", "parent_id", "query_id", "created_at", "updated_at"}


async def test_stale_placeholders_read_as_failed_and_are_swept(db: Database) -> None:
    manager = ConversationManager(db, stale_after=0)
    turn = await manager.start_turn(ALICE, None, user("lost"))
    assert isinstance(turn, Turn)
    _, messages = await manager.history(ALICE, turn.chat.id)
    assert [m.status for m in messages] == [COMPLETE, FAILED]
    assert messages[1].error and messages[1].error["name"] == "REPLY_ABANDONED"
    assert await manager.sweep_stale() >= 1
    fresh = ConversationManager(db)  # the default threshold: nothing pending any more
    _, messages = await fresh.history(ALICE, turn.chat.id, include_pending=True)
    assert messages[1].status == FAILED


async def test_import_keeps_order_and_times(manager: ConversationManager) -> None:
    from datetime import UTC, datetime, timedelta

    start = datetime(2025, 7, 14, 19, 4, 56, 974882, tzinfo=UTC)
    rows = [
        NewMessage(
            "user" if i % 2 == 0 else "assistant",
            f"message {i}",
            token_count=2,
            query_id=f"q{i // 2}",
            created_at=start + timedelta(seconds=i),
        )
        for i in range(1500)
    ]
    chat = await manager.import_chat(ALICE, rows, title="imported", created_at=start)
    _, messages = await manager.history(ALICE, chat.id)
    assert [m.content for m in messages] == [r.content for r in rows]
    assert messages[0].created_at == start and chat.last_seq == 1500
    recent = await manager.recent(chat, limit=3)
    assert [m.seq for m in recent] == [1500, 1499, 1498]
    older = await manager.recent(chat, limit=2, before=recent[-1])
    assert [m.seq for m in older] == [1497, 1496]
