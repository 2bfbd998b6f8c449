"""Gauges that describe this process (embedded model queue, database pool, pending ledger rows),
sampled every `interval` seconds by one background task: a scrape may be answered by another
worker, which cannot look into this one, so each worker writes its own values ahead of time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence

from emmaus.observability import multiprocess

log = logging.getLogger(__name__)

Probe = Callable[[], None]  # reads something cheap and sets a gauge


class ProcessGauges:
    def __init__(self, probes: Sequence[Probe], interval: float = 2.0) -> None:
        self.probes = list(probes)
        self.interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.sample()
        self._task = asyncio.ensure_future(self._run())

    def sample(self) -> None:
        for probe in self.probes:
            try:
                probe()
            except Exception as exc:  # a gauge must never take the server down
                log.debug("gauge probe failed: %r", exc)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.sample()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        multiprocess.mark_dead()  # this worker's live gauges stop counting
