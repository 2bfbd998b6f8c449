"""The usage ledger's writer: model calls are recorded off the request path, in batches.

`record` appends to a list in memory and returns (no await, no I/O); a background task writes
what has gathered once a second, or at once when `batch_size` rows are waiting, as one
multi-row INSERT. So a call never waits on the database, a burst costs one statement per
batch, and the insert's cost does not depend on how many rows the table holds (two B-tree
indexes). If the database is away the rows wait, up to `max_pending`; past that the oldest are
dropped and counted (`emmaus_usage_ledger_rows_total{outcome="dropped"}`) rather than letting
memory grow without bound. `aclose` writes what is left."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert

from emmaus.observability import metrics
from emmaus.store import Database
from emmaus.usage.schema import UsageRow

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UsageEntry:
    """One model call as the ledger keeps it."""

    created_at: datetime
    client_id: str | None
    model: str
    route: str
    request_id: str | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    status: str  # ok | error | cancelled | safety
    latency_ms: int
    streamed: bool

    def row(self) -> dict[str, Any]:
        # By hand: `dataclasses.asdict` deep-copies and costs several times more per call.
        return {
            "created_at": self.created_at,
            "day": self.created_at.date().isoformat(),
            "client_id": self.client_id,
            "model": self.model,
            "route": self.route,
            "request_id": self.request_id,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": self.cost_usd,
            "status": self.status,
            "latency_ms": self.latency_ms,
            "streamed": self.streamed,
        }


class UsageLedger:
    """```python
    ledger = UsageLedger(db); ledger.start()
    ledger.record(entry)          # from any coroutine of the loop; never blocks
    await ledger.aclose()         # writes what is pending
    ```"""

    def __init__(
        self,
        db: Database,
        *,
        flush_interval: float = 1.0,
        batch_size: int = 500,
        max_pending: int = 100_000,
    ) -> None:
        self.db = db
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self._pending: list[dict[str, Any]] = []
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def record(self, entry: UsageEntry) -> None:
        if len(self._pending) >= self.max_pending:
            metrics.LEDGER_ROWS.labels("dropped").inc()
            return
        self._pending.append(entry.row())
        if len(self._pending) >= self.batch_size:
            self._full.set()

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def _run(self) -> None:
        while not self._closing:
            with contextlib.suppress(TimeoutError):  # the interval is up: write anyway
                await asyncio.wait_for(self._full.wait(), self.flush_interval)
            self._full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write what is pending now (one INSERT per `batch_size` rows). Rows recorded while it
        writes wait for the next flush: draining them too would, under steady traffic, turn
        the batches into a stream of tiny inserts."""
        async with self._lock:
            rows, self._pending = self._pending, []
            for start in range(0, len(rows), self.batch_size):
                batch = rows[start : start + self.batch_size]
                try:
                    async with self.db.session() as session:
                        await session.execute(insert(UsageRow), batch)
                except Exception as exc:  # the database is away: keep the rows, try later
                    log.warning("usage ledger: %d rows not written yet: %r", len(rows), exc)
                    self._requeue(rows[start:])
                    break
                metrics.LEDGER_ROWS.labels("written").inc(len(batch))
            metrics.LEDGER_PENDING.set(len(self._pending))

    def _requeue(self, batch: list[dict[str, Any]]) -> None:
        self._pending[:0] = batch
        overflow = len(self._pending) - self.max_pending
        if overflow > 0:
            del self._pending[:overflow]  # the oldest go first
            metrics.LEDGER_ROWS.labels("dropped").inc(overflow)

    async def aclose(self) -> None:
        self._closing = True
        self._full.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await asyncio.wait_for(self.flush(), timeout=10)
        except TimeoutError:
            log.warning("usage ledger: %d rows lost at shutdown", len(self._pending))
