"""Background work a service keeps: replies are settled even when the request that started
them is gone, and the service waits for that work (a while) when it stops."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class TaskKeeper:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """A task that outlives its caller and is awaited on close."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shielded(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` to the end even if the caller is cancelled meanwhile."""
        return await asyncio.shield(self.spawn(work))

    async def aclose(self, grace: float, settle: float = 5.0) -> None:
        """Let running work finish for up to `grace` seconds, then cancel what is left and
        give what the cancelled work starts (a cut reply's partial save) `settle` seconds to
        be written, before the caller closes the database under it."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
        deadline = asyncio.get_running_loop().time() + settle
        while self._tasks:  # tasks spawned meanwhile are waited for too
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            await asyncio.wait(set(self._tasks), timeout=left)
