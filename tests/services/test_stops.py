"""`emmaus.services.stops` on the real store (SQLite and PostgreSQL) and Redis, without HTTP: a
stop runs the running reply's own callback, in this process or in another instance's (through
the row flag its poll finds, or Redis pub/sub), and a reply that is not pending is not
flagged. `ChatService.stop` and the v1 route are tested in tests/api/chats/test_v1_stop.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from emmaus.conversations.leases import Leases
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE
from emmaus.conversations.types import NewMessage, ReplyUpdate, Turn
from emmaus.services.stops import Stops
from emmaus.store import Database


@pytest.fixture
async def leases(db: Database) -> AsyncIterator[tuple[Leases, Leases]]:
    """Two instances' leases on one database."""
    first, second = Leases(db), Leases(db)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        await first.aclose()
        await second.aclose()


async def pending_reply(db: Database, client: str, leases: Leases) -> Turn:
    manager = ConversationManager(db, instance_id=leases.instance_id)
    turn = await manager.start_turn(client, None, NewMessage("user", "hi", token_count=1))
    assert isinstance(turn, Turn)
    return turn


async def stopped_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def test_a_local_stop_calls_the_registered_callback(
    db: Database, leases: tuple[Leases, Leases], alice: str
) -> None:
    stops = Stops(leases[0])
    turn = await pending_reply(db, alice, leases[0])
    calls: list[str] = []
    with stops.register(turn.reply.id, lambda: calls.append("stop")):
        assert stops.is_running(turn.reply.id)
        assert await stops.request_stop(turn.reply.id)
        assert calls == ["stop"] and not stops.is_running(turn.reply.id)
    assert await stops.request_stop("m-unknown") is False


@pytest.mark.parametrize("with_redis", [False, True], ids=["row-flag", "redis"])
async def test_a_stop_reaches_another_instance(
    db: Database,
    leases: tuple[Leases, Leases],
    alice: str,
    with_redis: bool,
    request: pytest.FixtureRequest,
) -> None:
    options: dict[str, object] = {"poll_interval": 0.05}
    if with_redis:  # the row poll slowed right down: only pub/sub can be this quick
        options = {
            "redis_url": request.getfixturevalue("redis_url"),
            "prefix": request.getfixturevalue("redis_prefix"),
            "fallback_interval": 60.0,
        }
    runner, stopper = Stops(leases[0], **options), Stops(leases[1], **options)  # type: ignore[arg-type]
    await runner.start()
    await stopper.start()
    try:
        turn = await pending_reply(db, alice, leases[0])
        stopped = asyncio.Event()
        with runner.register(turn.reply.id, stopped.set):
            assert await stopper.request_stop(turn.reply.id)  # flagged: it is pending
            assert await stopped_within(stopped, 5.0)
        # Once settled, there is nothing to flag.
        manager = ConversationManager(db)
        await manager.finish_reply(turn.reply, ReplyUpdate("hello", COMPLETE, 1))
        assert await stopper.request_stop(turn.reply.id) is False
        _, messages = await manager.history(alice, turn.chat.id)
        assert messages[-1].status == COMPLETE and messages[-1].error is None
    finally:
        await runner.aclose()
        await stopper.aclose()


async def test_a_flag_on_a_reply_that_completes_anyway_is_cleared(
    db: Database, leases: tuple[Leases, Leases], alice: str
) -> None:
    turn = await pending_reply(db, alice, leases[0])
    flagged, owner = await leases[1].flag_stop(turn.reply.id)
    assert flagged and owner == leases[0].instance_id
    assert await leases[0].stop_requested([turn.reply.id, "m-other"]) == [turn.reply.id]
    manager = ConversationManager(db)
    settled = await manager.finish_reply(turn.reply, ReplyUpdate("done", COMPLETE, 1))
    assert settled.error is None
    _, messages = await manager.history(alice, turn.chat.id)
    assert messages[-1].error is None  # the marker did not outlive the pending row
    assert await leases[0].stop_requested([turn.reply.id]) == []
