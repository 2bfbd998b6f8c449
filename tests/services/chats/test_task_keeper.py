"""`TaskKeeper.aclose`: work still running past the grace is cancelled, and what its
cancellation starts (a cut reply's partial save) is waited for before the caller goes on to
close the database."""

from __future__ import annotations

import asyncio

from emmaus.services.chats.tasks import TaskKeeper


async def test_a_save_started_by_a_cancellation_is_waited_for() -> None:
    keeper = TaskKeeper()
    saved: list[str] = []

    async def save() -> None:
        await asyncio.sleep(0.05)  # a database write
        saved.append("partial")

    async def turn() -> None:
        try:
            await asyncio.sleep(60)  # a model that is still streaming
        except asyncio.CancelledError:
            await keeper.shielded(save())
            raise

    keeper.spawn(turn())
    await asyncio.sleep(0)
    await keeper.aclose(grace=0.01)
    assert saved == ["partial"]


async def test_the_wait_for_cancelled_work_is_bounded() -> None:
    keeper = TaskKeeper()
    release = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            await release.wait()  # slow to wind down: aclose must not wait for ever

    task = keeper.spawn(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(keeper.aclose(grace=0.01, settle=0.1), timeout=5)
    assert not task.done()
    release.set()
    await task
