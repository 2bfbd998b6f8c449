"""The probes `ProcessGauges` samples in each process: the embedded model's queue, the
database pool and the usage ledger's pending rows (cheap reads, every two seconds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from emmaus.engine.providers.base import Provider
from emmaus.observability import metrics
from emmaus.store import Database


class Pending(Protocol):
    @property
    def pending(self) -> int: ...


def gauge_probes(
    db: Database, providers: Mapping[str, Provider], ledger: Pending | None
) -> list[Callable[[], None]]:
    """What `ProcessGauges` samples: the embedded model's queue, the pool, the ledger."""
    probes: list[Callable[[], None]] = []
    local = providers.get("local")
    queue_stats = getattr(local, "queue_stats", None)
    if queue_stats is not None:

        def local_queue() -> None:
            for path, stats in queue_stats().items():
                name = path.rsplit("/", 1)[-1]
                metrics.LOCAL_QUEUE_DEPTH.labels(name).set(stats["waiting"])
                metrics.LOCAL_BUSY.labels(name).set(stats["running"])

        probes.append(local_queue)
    checked_out = getattr(db.engine.pool, "checkedout", None)
    if checked_out is not None:
        probes.append(lambda: metrics.DB_POOL_IN_USE.set(checked_out()))
    if ledger is not None:
        probes.append(lambda: metrics.LEDGER_PENDING.set(ledger.pending))
    return probes
