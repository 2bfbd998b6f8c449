"""Edits, regenerations, the active branch and deletions, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE
from emmaus.conversations.types import NewMessage, ReplyUpdate, Turn
from emmaus.errors import InvalidChatOperation, MessageNotFound
from emmaus.store import Database

ALICE, BOB = "alice", "bob"  # replaced per test by conftest.fresh_clients


def user(text: str) -> NewMessage:
    return NewMessage("user", text, token_count=1)


@pytest.fixture
def manager(db: Database) -> ConversationManager:
    return ConversationManager(db)


async def exchange(manager: ConversationManager, chat_id: str | None, q: str, a: str) -> Turn:
    turn = await manager.start_turn(ALICE, chat_id, user(q))
    assert isinstance(turn, Turn)
    await manager.finish_reply(turn.reply, ReplyUpdate(a, COMPLETE, 1))
    return turn


async def texts(manager: ConversationManager, chat_id: str) -> list[str]:
    _, messages = await manager.history(ALICE, chat_id)
    return [m.content for m in messages]


async def test_edit_starts_a_branch_and_keeps_the_old_one(manager: ConversationManager) -> None:
    t1 = await exchange(manager, None, "q1", "a1")
    chat_id = t1.chat.id
    t2 = await exchange(manager, chat_id, "q2", "a2")
    await exchange(manager, chat_id, "q3", "a3")

    edited = await manager.edit_user_turn(ALICE, chat_id, t2.user.id, user("q2 edited"))
    assert edited.user.parent_id == t1.reply.id and edited.user.query_id != t2.user.query_id
    await manager.finish_reply(edited.reply, ReplyUpdate("a2'", COMPLETE, 1))
    assert await texts(manager, chat_id) == ["q1", "a1", "q2 edited", "a2'"]
    # Every branch stays stored, in seq order.
    assert len(await manager.all_messages(ALICE, chat_id)) == 8
    # A new turn continues the active branch.
    await exchange(manager, chat_id, "q4", "a4")
    assert await texts(manager, chat_id) == ["q1", "a1", "q2 edited", "a2'", "q4", "a4"]
    # Switching back to the old branch.
    await manager.set_head(ALICE, chat_id, t2.reply.id)
    assert await texts(manager, chat_id) == ["q1", "a1", "q2", "a2"]


async def test_regenerate_adds_a_sibling_reply(manager: ConversationManager) -> None:
    t1 = await exchange(manager, None, "q1", "a1")
    again = await manager.regenerate(ALICE, t1.chat.id, t1.reply.id)
    assert again.reply.parent_id == t1.user.id and again.reply.query_id == t1.user.query_id
    await manager.finish_reply(again.reply, ReplyUpdate("a1 again", COMPLETE, 1))
    assert await texts(manager, t1.chat.id) == ["q1", "a1 again"]
    recent = await manager.recent(again.chat, limit=10)
    assert [m.content for m in recent] == ["a1 again", "q1"]
    with pytest.raises(InvalidChatOperation):
        await manager.regenerate(ALICE, t1.chat.id, t1.user.id)
    with pytest.raises(InvalidChatOperation):
        await manager.edit_user_turn(ALICE, t1.chat.id, t1.reply.id, user("x"))


async def test_delete_message_and_exchange_relinks_the_branch(
    manager: ConversationManager,
) -> None:
    t1 = await exchange(manager, None, "q1", "a1")
    chat_id = t1.chat.id
    t2 = await exchange(manager, chat_id, "q2", "a2")
    t3 = await exchange(manager, chat_id, "q3", "a3")
    summary = await manager.add_summary(chat_id, [t2.user, t2.reply], "about q2", 3)
    assert summary.from_seq == 3 and summary.to_seq == 4

    deleted = await manager.delete_messages(ALICE, query_id=t2.user.query_id)
    assert deleted == [t2.user.id, t2.reply.id]
    assert await texts(manager, chat_id) == ["q1", "a1", "q3", "a3"]
    assert await manager.summaries(ALICE, chat_id) == []  # it told the deleted exchange

    assert await manager.delete_messages(ALICE, message_id=t3.reply.id) == [t3.reply.id]
    chat, messages = await manager.history(ALICE, chat_id)
    assert [m.content for m in messages] == ["q1", "a1", "q3"]
    assert chat.head_message_id == t3.user.id
    # The same branch read by walking links (a branched chat) agrees.
    again = await manager.regenerate(ALICE, chat_id, t1.reply.id)
    await manager.set_head(ALICE, chat_id, t3.user.id)
    assert await texts(manager, chat_id) == ["q1", "a1", "q3"]
    assert again.reply.parent_id == t1.user.id

    with pytest.raises(MessageNotFound):
        await manager.delete_messages(BOB, message_id=t1.user.id)
    with pytest.raises(MessageNotFound):
        await manager.delete_messages(ALICE, message_id="m-missing")
    with pytest.raises(InvalidChatOperation):
        await manager.delete_messages(ALICE)


async def test_recent_walks_a_branched_chat_in_pages(manager: ConversationManager) -> None:
    turn = await exchange(manager, None, "q0", "a0")
    chat_id = turn.chat.id
    for i in range(1, 6):
        turn = await exchange(manager, chat_id, f"q{i}", f"a{i}")
    edited = await manager.edit_user_turn(ALICE, chat_id, turn.user.id, user("q5'"))
    await manager.finish_reply(edited.reply, ReplyUpdate("a5'", COMPLETE, 1))
    chat = await manager.get_chat(ALICE, chat_id)
    page = await manager.recent(chat, limit=4)
    assert [m.content for m in page] == ["a5'", "q5'", "a4", "q4"]
    page = await manager.recent(chat, limit=4, before=page[-1])
    assert [m.content for m in page] == ["a3", "q3", "a2", "q2"]
