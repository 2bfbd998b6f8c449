"""Relaying a background run's events to the request that reads them: a run (a v1 turn, a
response) puts events on a queue from its own task, so a stop or a hang-up can cancel it while
it still stores what it has; the reader takes them one by one, or the task's error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any


async def next_event(queue: asyncio.Queue[object], task: asyncio.Task[Any]) -> object:
    """The next event, or the task's exception if it ended without sending one."""
    getter = asyncio.ensure_future(queue.get())
    try:
        await asyncio.wait((getter, task), return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        getter.cancel()
        raise
    if getter.done():
        return getter.result()
    getter.cancel()
    if not queue.empty():
        return queue.get_nowait()
    if task.cancelled():
        return asyncio.CancelledError()
    return task.exception() or RuntimeError("the run ended without an answer")


async def relay(
    queue: asyncio.Queue[object],
    task: asyncio.Task[Any],
    last: Callable[[object], bool],
    skip: tuple[object, ...] = (),
) -> AsyncIterator[Any]:
    """The run's events up to the one `last` accepts (markers in `skip` are dropped); an error
    the run raised is raised here. Leaving early cancels the run: it stores what it has."""
    try:
        while True:
            event = await next_event(queue, task)
            if any(event is marker for marker in skip):
                continue
            if isinstance(event, BaseException):
                raise event
            yield event
            if last(event):
                return
    finally:
        if not task.done():
            task.cancel()
