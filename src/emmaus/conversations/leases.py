"""Leases on pending replies: every instance heartbeats a row in `instances`, and a reply
placeholder names the instance answering it. When an instance dies (SIGKILL, a lost machine)
its heartbeat stops; within `timeout` seconds any other instance, or the same database's next
start, settles its replies: `partial` with the text streamed so far (saved in batches while
streaming), `failed` when there was none. A live instance's replies are never taken over.

```python
leases = Leases(db, timeout=15, interval=5)
await leases.start()           # registers this instance, settles what dead ones left
...                            # placeholders carry leases.instance_id
await leases.aclose()          # stops heartbeating and forgets this instance
```

A stop request for a reply another instance is answering is a flag on its row (`flag_stop`:
the pending row's `error` holds the stop marker until the reply settles); the owner looks for
flags on the replies it runs (`stop_requested`), see `emmaus.services.stops`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import timedelta

from sqlalchemy import case, delete, select, update

from emmaus.conversations.rows import STALE_ERROR
from emmaus.conversations.schema import FAILED, PARTIAL, PENDING, InstanceRow, MessageRow
from emmaus.errors import ReplyStopped
from emmaus.store import Database, utcnow

# No schema change for a flag: a pending reply has no error until it settles, so an error on a
# pending row can only be this marker.
STOP_MARKER = ReplyStopped("a stop was requested").to_dict()

log = logging.getLogger(__name__)


class Leases:
    def __init__(self, db: Database, *, timeout: float = 15.0, interval: float = 5.0) -> None:
        self.db = db
        self.timeout = timeout
        self.interval = interval
        self.instance_id = "i" + secrets.token_hex(12)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        now = utcnow()
        async with self.db.session(write=True) as session:
            session.add(InstanceRow(id=self.instance_id, started_at=now, heartbeat_at=now))
        await self.settle_dead()
        self._task = asyncio.ensure_future(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.heartbeat()
                await self.settle_dead()
            except Exception as exc:  # a database hiccup must not end the heartbeat
                log.warning("lease heartbeat failed: %r", exc)

    async def heartbeat(self) -> None:
        async with self.db.session(write=True) as session:
            await session.execute(
                update(InstanceRow)
                .where(InstanceRow.id == self.instance_id)
                .values(heartbeat_at=utcnow())
            )

    async def is_alive(self, instance_id: str | None) -> bool:
        if instance_id is None:
            return False
        if instance_id == self.instance_id:
            return True
        cutoff = utcnow() - timedelta(seconds=self.timeout)
        async with self.db.session() as session:
            beat = await session.scalar(
                select(InstanceRow.heartbeat_at).where(InstanceRow.id == instance_id)
            )
        return beat is not None and beat >= cutoff

    async def settle_dead(self) -> int:
        """Settle every pending reply whose instance stopped heartbeating; forget that
        instance. Returns how many replies were settled."""
        cutoff = utcnow() - timedelta(seconds=self.timeout)
        alive = select(InstanceRow.id).where(InstanceRow.heartbeat_at >= cutoff)
        async with self.db.session(write=True) as session:
            result = await session.execute(
                update(MessageRow)
                .where(
                    MessageRow.status == PENDING,
                    MessageRow.lease_owner.is_not(None),
                    MessageRow.lease_owner.not_in(alive),
                )
                .values(
                    status=case((MessageRow.content != "", PARTIAL), else_=FAILED),
                    error=STALE_ERROR,
                    lease_owner=None,
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            await session.execute(delete(InstanceRow).where(InstanceRow.heartbeat_at < cutoff))
        settled = int(result.rowcount or 0)  # type: ignore[attr-defined]
        if settled:
            log.info("settled %d replies left pending by stopped instances", settled)
        return settled

    async def flag_stop(self, reply_id: str) -> tuple[bool, str | None]:
        """Ask whoever answers `reply_id` to stop: (flagged, the instance answering it).
        Not flagged when the reply is no longer pending."""
        async with self.db.session(write=True) as session:
            result = await session.execute(
                update(MessageRow)
                .where(MessageRow.id == reply_id, MessageRow.status == PENDING)
                .values(error=STOP_MARKER)
                .returning(MessageRow.id, MessageRow.lease_owner)
            )
            row = result.first()
        return (True, row[1]) if row is not None else (False, None)

    async def stop_requested(self, reply_ids: list[str]) -> list[str]:
        """Which of these pending replies `flag_stop` flagged."""
        if not reply_ids:
            return []
        async with self.db.session() as session:
            rows = await session.scalars(
                select(MessageRow.id).where(
                    MessageRow.id.in_(reply_ids),
                    MessageRow.status == PENDING,
                    # The marker's name, not IS NOT NULL: a JSON null is no request.
                    MessageRow.error["name"].as_string() == STOP_MARKER["name"],
                )
            )
            return list(rows)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        async with self.db.session(write=True) as session:
            await session.execute(delete(InstanceRow).where(InstanceRow.id == self.instance_id))
