"""The context builder on SQLite and PostgreSQL: budgets, guarantees, summaries, cost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from emmaus.conversations.context import PER_MESSAGE_TOKENS, ContextBuilder, SystemPart
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED
from emmaus.conversations.types import NewMessage, ReplyUpdate, Turn
from emmaus.store import Database

SYSTEM = [SystemPart("You are helpful.", 6)]
COST = 10 + PER_MESSAGE_TOKENS  # every seeded message has token_count 10

ALICE, BOB = "alice", "bob"  # replaced per test by conftest.fresh_clients


def seeded(count: int) -> list[NewMessage]:
    return [
        NewMessage("user" if i % 2 == 0 else "assistant", f"m{i}", token_count=10)
        for i in range(count)
    ]


@contextmanager
def counting_queries(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", record)


@pytest.fixture
def manager(db: Database) -> ConversationManager:
    return ConversationManager(db)


async def ask(manager: ConversationManager, chat_id: str, text: str, tokens: int = 10) -> Turn:
    turn = await manager.start_turn(ALICE, chat_id, NewMessage("user", text, token_count=tokens))
    assert isinstance(turn, Turn)
    return turn


async def test_keeps_the_newest_turns_that_fit(manager: ConversationManager) -> None:
    chat = await manager.import_chat(ALICE, seeded(40))
    turn = await ask(manager, chat.id, "newest")
    budget = 6 + PER_MESSAGE_TOKENS + 5 * COST
    window = await ContextBuilder(manager).build(
        turn.chat, budget=budget, system=SYSTEM, before=turn.reply
    )
    contents = [m.content for m in window.messages]
    assert contents == ["You are helpful.", "m36", "m37", "m38", "m39", "newest"]
    assert window.truncated and window.kept == 5 and window.tokens <= budget


async def test_system_and_newest_user_turn_survive_any_budget(
    manager: ConversationManager,
) -> None:
    chat = await manager.import_chat(ALICE, seeded(4))
    turn = await ask(manager, chat.id, "a very long question", tokens=5000)
    window = await ContextBuilder(manager).build(
        turn.chat, budget=100, system=SYSTEM, before=turn.reply
    )
    assert [m.content for m in window.messages] == ["You are helpful.", "a very long question"]


async def test_failed_and_pending_replies_are_left_out(manager: ConversationManager) -> None:
    first = await ask(manager, (await manager.create_chat(ALICE)).id, "q1")
    await manager.finish_reply(first.reply, ReplyUpdate("", FAILED, 0, error={"name": "X"}))
    second = await ask(manager, first.chat.id, "q2")
    window = await ContextBuilder(manager).build(
        second.chat, budget=10_000, system=SYSTEM, before=second.reply
    )
    assert [m.content for m in window.messages] == ["You are helpful.", "q1", "q2"]
    assert not window.truncated


async def test_a_tool_result_never_loses_its_call(manager: ConversationManager) -> None:
    call = [{"id": "call_1", "name": "lookup", "arguments": "{}"}]
    messages = [
        NewMessage("user", "find it", token_count=10),
        NewMessage("assistant", "", token_count=10, tool_calls=call),
        NewMessage("tool", "result", token_count=10, tool_call_id="call_1"),
        NewMessage("assistant", "found", token_count=10),
    ]
    chat = await manager.import_chat(ALICE, messages)
    turn = await ask(manager, chat.id, "thanks")
    # Room for three stored messages: "found", "thanks" and the tool result, but not its call.
    budget = 6 + PER_MESSAGE_TOKENS + 3 * COST
    window = await ContextBuilder(manager).build(
        turn.chat, budget=budget, system=SYSTEM, before=turn.reply
    )
    assert [m.role for m in window.messages] == ["system", "assistant", "user"]
    window = await ContextBuilder(manager).build(
        turn.chat, budget=budget + COST, system=SYSTEM, before=turn.reply
    )
    roles = [m.role for m in window.messages]
    assert roles == ["system", "assistant", "tool", "assistant", "user"]
    assert window.messages[1].tool_calls and window.messages[1].tool_calls[0].id == "call_1"


async def test_a_summary_replaces_the_turns_it_covers(manager: ConversationManager) -> None:
    chat = await manager.import_chat(ALICE, seeded(30))
    _, messages = await manager.history(ALICE, chat.id)
    summary = await manager.add_summary(chat.id, messages[:20], "They talked a lot.", 8)
    turn = await ask(manager, chat.id, "newest")
    window = await ContextBuilder(manager).build(
        turn.chat, budget=100_000, system=SYSTEM, before=turn.reply
    )
    contents = [m.content or "" for m in window.messages]
    assert "They talked a lot." in contents[1] and "1-20" in contents[1]
    assert contents[2:] == [f"m{i}" for i in range(20, 30)] + ["newest"]
    assert window.summary == summary and not window.truncated


async def test_a_summary_on_another_branch_is_not_used(manager: ConversationManager) -> None:
    chat = await manager.import_chat(ALICE, seeded(6))
    _, messages = await manager.history(ALICE, chat.id)
    await manager.add_summary(chat.id, messages[:4], "old branch", 5)
    edited = await manager.edit_user_turn(
        ALICE, chat.id, messages[2].id, NewMessage("user", "edit", token_count=10)
    )
    await manager.finish_reply(edited.reply, ReplyUpdate("reply", COMPLETE, 10))
    turn = await ask(manager, chat.id, "next")
    window = await ContextBuilder(manager).build(
        turn.chat, budget=100_000, system=SYSTEM, before=turn.reply
    )
    assert [m.content for m in window.messages] == [
        "You are helpful.",
        "m0",
        "m1",
        "edit",
        "reply",
        "next",
    ]


async def test_cost_follows_the_turns_kept_not_the_chat_length(
    db: Database, manager: ConversationManager
) -> None:
    short = await manager.import_chat(ALICE, seeded(10))
    long = await manager.import_chat(ALICE, seeded(10_000))
    budget = 6 + PER_MESSAGE_TOKENS + 20 * COST
    counts = []
    for chat in (short, long):
        turn = await ask(manager, chat.id, "q")
        with counting_queries(db) as statements:
            window = await ContextBuilder(manager).build(
                turn.chat, budget=budget, system=SYSTEM, before=turn.reply
            )
        counts.append(sum(s.lstrip().upper().startswith("SELECT") for s in statements))
    assert window.kept == 20 and window.truncated
    # The summaries and one page of rows, whatever the length of the chat.
    assert counts == [2, 2]
