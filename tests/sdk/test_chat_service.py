"""ChatService against the live Emmaus on SQLite and PostgreSQL: each turn stored as a pair in
one transaction, nothing stored when the model fails, order kept under concurrent sends (two
processes' worth of engines on PostgreSQL: the row lock), summaries of long chats, gradual
roll-out by user hash and shadow mode."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from emmaus_client import AsyncEmmaus, ProviderError
from emmaus_client.chat import ChatService, Rollout, ShadowReport
from emmaus_client.storage import ConversationManager
from tests.sdk.servers import Server, fault_proxy


@pytest.fixture
async def quick(server: Server) -> AsyncIterator[AsyncEmmaus]:
    """A client that retries a failing model quickly (10 ms backoff)."""
    async with AsyncEmmaus(
        server.base_url,
        client_id=server.client_id,
        client_secret=server.client_secret,
        backoff=0.01,
    ) as sdk:
        yield sdk


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[ConversationManager]:
    manager = await ConversationManager.open(database_url)
    try:
        yield manager
    finally:
        await manager.aclose()


async def test_a_turn_stores_both_sides_with_the_routing(
    aclient: AsyncEmmaus, store: ConversationManager
) -> None:
    service = ChatService(aclient, store, tradition="evangelical")
    conversation = await service.start("user-1", title="Paul")
    first = await service.send(conversation.id, "Where was the apostle Paul born?")
    assert first.text == "Where was the apostle Paul born?" and first.path == "new"
    assert first.completion is not None and first.completion.routing.tradition == "evangelical"
    assert first.answer.parent_id == first.question.id
    assert first.answer.tokens_used == first.completion.usage.completion_tokens
    assert first.answer.meta["routing_mechanism"] == "auto_routing"
    assert first.answer.model == first.completion.model

    second = await service.send(conversation.id, "Which letters did he write?", user_id="user-1")
    assert second.context.kept == 2  # the first exchange went along
    history = await service.history(conversation.id)
    assert [(m.role, m.content) for m in history] == [
        ("user", "Where was the apostle Paul born?"),
        ("assistant", "Where was the apostle Paul born?"),
        ("user", "Which letters did he write?"),
        ("assistant", "Which letters did he write?"),
    ]


async def test_a_failed_call_stores_nothing(quick: AsyncEmmaus, store: ConversationManager) -> None:
    service = ChatService(quick, store, model="always-broken")
    conversation = await service.start("user-1")
    with pytest.raises(ProviderError):
        await service.send(conversation.id, "Who was Lydia?")
    assert await store.count_messages(conversation.id) == 0


def _assert_in_order(history: list, count: int) -> None:
    assert len(history) == 2 * count
    assert [m.role for m in history] == ["user", "assistant"] * count
    for question, answer in zip(history[::2], history[1::2], strict=True):
        assert answer.content == question.content  # each answer is to its own question
        assert answer.parent_id == question.id
    # Every turn saw every earlier one: its context grew by one exchange each time.
    assert [a.meta["context_messages"] for a in history[1::2]] == list(range(0, 2 * count, 2))


async def test_concurrent_sends_keep_order_across_engines_on_postgresql(
    server: Server, postgres_url: str
) -> None:
    managers = [await ConversationManager.open(postgres_url), ConversationManager(postgres_url)]
    clients = [
        AsyncEmmaus(server.base_url, client_id=server.client_id, client_secret=server.client_secret)
        for _ in managers
    ]
    try:
        services = [ChatService(c, m) for c, m in zip(clients, managers, strict=True)]
        conversation = await services[0].start("user-1")
        questions = [f"Who was the judge number {n} of Israel?" for n in range(8)]
        await asyncio.gather(
            *(services[n % 2].send(conversation.id, q) for n, q in enumerate(questions))
        )
        history = await managers[1].get_history(conversation.id)
        _assert_in_order(history, len(questions))
        assert sorted(m.content for m in history[::2]) == sorted(questions)
    finally:
        for client in clients:
            await client.aclose()
        for manager in managers:
            await manager.aclose()


async def test_concurrent_sends_keep_order_on_sqlite(aclient: AsyncEmmaus, sqlite_url: str) -> None:
    async with await ConversationManager.open(sqlite_url) as store:
        service = ChatService(aclient, store)
        conversation = await service.start("user-1")
        questions = [f"Who was the king number {n} of Judah?" for n in range(6)]
        await asyncio.gather(*(service.send(conversation.id, q) for q in questions))
        _assert_in_order(await store.get_history(conversation.id), len(questions))


async def test_long_chats_are_summarised(aclient: AsyncEmmaus, store: ConversationManager) -> None:
    service = ChatService(aclient, store, summarize_after_tokens=60, summary_keep_tokens=30)
    conversation = await service.start("user-1")
    turns = [
        await service.send(conversation.id, f"Tell me one fact about the prophet number {n}.")
        for n in range(5)
    ]
    stored = await store.get_conversation(conversation.id)
    assert stored.summary and stored.summary_through_id is not None
    assert turns[-1].context.summarized > 0  # a later turn was sent the summary instead
    assert turns[-1].context.messages[0]["content"].startswith("Summary of the earlier")
    assert await store.count_messages(conversation.id) == 10  # nothing is deleted


async def test_rollout_sends_a_stable_share_of_users_to_the_new_path(
    aclient: AsyncEmmaus, store: ConversationManager, server: Server
) -> None:
    rollout = Rollout(percent=50)
    users = [f"user-{n}" for n in range(200)]
    new = {u for u in users if rollout.path_for(u) == "new"}
    assert 70 < len(new) < 130  # about half
    assert new == {u for u in users if Rollout(percent=50).path_for(u) == "new"}  # stable
    assert {u for u in users if Rollout(percent=20).path_for(u) == "new"} <= new  # only forward
    assert Rollout(percent=0, include=frozenset({"staff"})).path_for("staff") == "new"

    old_user = next(u for u in users if u not in new)
    new_user = next(iter(sorted(new)))
    service = ChatService(aclient, store, rollout=rollout)
    old_chat = await service.start(old_user)
    first = await service.send(old_chat.id, "Who was Priscilla?")
    second = await service.send(old_chat.id, "And who was Aquila?")
    assert (first.path, second.path) == ("old", "old")
    assert first.v1 is not None and second.v1 is not None
    assert first.v1.chat_id == second.v1.chat_id  # one v1 chat per conversation
    assert first.answer.meta["path"] == "old"
    v1_history = await aclient.chats.get(first.v1.chat_id)
    assert [m.message for m in v1_history.messages if m.role == "user"] == [
        "Who was Priscilla?",
        "And who was Aquila?",
    ]
    assert await store.count_messages(old_chat.id) == 4  # stored here too, for the move later

    new_chat = await service.start(new_user)
    turn = await service.send(new_chat.id, "Who was Phoebe?")
    assert turn.path == "new" and turn.v1 is None and turn.answer.meta["path"] == "new"


async def test_shadow_mode_answers_with_the_old_path_and_logs_differences(
    quick: AsyncEmmaus, store: ConversationManager, caplog: pytest.LogCaptureFixture
) -> None:
    reports: list[ShadowReport] = []
    service = ChatService(
        quick,
        store,
        model="fixed-words",  # the new path answers differently from the old echo
        rollout=Rollout(percent=0, shadow=True),
        on_shadow=reports.append,
    )
    conversation = await service.start("user-7")
    with caplog.at_level(logging.INFO, logger="emmaus_client.chat.shadow"):
        turn = await service.send(conversation.id, "Who was Apollos?")
    assert turn.path == "shadow" and turn.text == "Who was Apollos?"  # the old answer
    [report] = reports
    assert report.new_model == "fixed-words" and report.new_text and not report.identical
    assert report.similarity < 0.5 and report.new_error is None
    assert turn.answer.meta["shadow"]["model"] == "fixed-words"
    assert any("shadow: similarity" in r.getMessage() for r in caplog.records)

    broken = ChatService(
        quick, store, model="always-broken", rollout=Rollout(percent=0, shadow=True),
        on_shadow=reports.append,
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="emmaus_client.chat.shadow"):
        kept = await broken.send(conversation.id, "Who was Tychicus?")
    assert kept.text == "Who was Tychicus?"  # the user never sees the new path's failure
    assert reports[-1].new_error is not None and reports[-1].new_text is None
    assert any(r.levelno == logging.WARNING for r in caplog.records)
    assert await store.count_messages(conversation.id) == 4


async def test_the_old_path_can_live_on_another_host(
    aclient: AsyncEmmaus, store: ConversationManager, server: Server
) -> None:
    with fault_proxy(server.base_url) as (legacy_url, legacy_host):
        async with AsyncEmmaus(
            legacy_url, client_id=server.client_id, client_secret=server.client_secret
        ) as legacy:
            service = ChatService(
                aclient, store, rollout=Rollout(percent=0, shadow=True), legacy_client=legacy
            )
            chat = await service.start("user-9")
            turn = await service.send(chat.id, "Who was Onesimus?")
    assert turn.path == "shadow" and turn.text == "Who was Onesimus?"
    assert len(legacy_host.sent("/ai/v1/message")) == 1  # the old path went there
    assert legacy_host.sent("/ai/v2/chat/completions") == []  # the new one did not
