"""The usage ledger on SQLite and PostgreSQL: rows written in batches by the background task
(never on the caller's path), totals by model, day and client, rows kept while the database is
away and dropped (counted) past the bound."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from emmaus.store import Database
from emmaus.usage.ledger import UsageEntry, UsageLedger
from emmaus.usage.queries import month_start, overall, summarise
from emmaus.usage.schema import UsageRow

DAY1 = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 4, 23, 59, tzinfo=UTC)


def entry(
    when: datetime, client: str, model: str, status: str = "ok", **extra: object
) -> UsageEntry:
    values: dict[str, object] = {
        "created_at": when,
        "client_id": client,
        "model": model,
        "route": "/ai/v2/chat/completions",
        "request_id": "r1",
        "prompt_tokens": 100,
        "completion_tokens": 20,
        "cost_usd": 0.5,
        "status": status,
        "latency_ms": 40,
        "streamed": False,
        **extra,
    }
    return UsageEntry(**values)  # type: ignore[arg-type]


async def rows(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(UsageRow))).scalar_one())


async def test_batches_off_the_callers_path(database: Database) -> None:
    statements: list[int] = []
    event.listen(
        database.engine.sync_engine,
        "before_cursor_execute",
        lambda *a, **k: (
            statements.append(1) if a[2].startswith("INSERT INTO usage_events") else None
        ),
    )
    ledger = UsageLedger(database, flush_interval=0.05, batch_size=400)
    ledger.start()
    try:
        for i in range(1000):
            ledger.record(entry(DAY1 + timedelta(seconds=i), "emc_a", "m1"))
        assert await rows(database) == 0  # record() wrote nothing itself
        for _ in range(100):
            if await rows(database) == 1000:
                break
            await asyncio.sleep(0.05)
        assert await rows(database) == 1000
        assert len(statements) == 3  # 1000 rows as 400 + 400 + 200
    finally:
        await ledger.aclose()


async def test_totals_by_model_day_and_client(database: Database) -> None:
    ledger = UsageLedger(database)
    ledger.record(entry(DAY1, "emc_a", "m1"))
    ledger.record(entry(DAY1, "emc_a", "m2", "error", prompt_tokens=7, completion_tokens=0))
    ledger.record(entry(DAY2, "emc_b", "m1", latency_ms=80))
    ledger.record(entry(DAY2 + timedelta(minutes=5), "emc_b", "m1"))  # the next day, past `end`
    await ledger.aclose()  # writes what is pending
    start, end = DAY1.replace(hour=0), DAY2 + timedelta(minutes=1)

    by_model = await summarise(database, start=start, end=end, group_by="model")
    assert [(g.key, g.requests, g.prompt_tokens, g.errors) for g in by_model] == [
        ("m1", 2, 200, 0),
        ("m2", 1, 7, 1),
    ]
    assert by_model[0].avg_latency_ms == 60 and by_model[0].cost_usd == pytest.approx(1.0)
    by_day = await summarise(database, start=start, end=end, group_by="day")
    assert [(g.key, g.requests) for g in by_day] == [("2026-11-03", 2), ("2026-11-04", 1)]
    mine = await summarise(database, start=start, end=end, group_by="client", client_id="emc_b")
    assert [(g.key, g.requests, g.total_tokens) for g in mine] == [("emc_b", 1, 120)]
    total = overall(by_model)
    assert (total.requests, total.completion_tokens, total.errors) == (3, 40, 1)
    assert await summarise(database, start=end, end=end + timedelta(days=1)) != []
    assert (
        await summarise(database, start=end + timedelta(days=2), end=end + timedelta(days=3)) == []
    )


async def test_rows_wait_while_the_database_is_away_and_the_bound_holds(
    database: Database,
) -> None:
    away = Database("sqlite+aiosqlite:////nonexistent-dir/for/emmaus.db")
    ledger = UsageLedger(away, batch_size=10, max_pending=25)
    try:
        for i in range(30):
            ledger.record(entry(DAY1 + timedelta(seconds=i), "emc_a", "m1"))
        assert ledger.pending == 25  # the five past the bound were dropped at once
        await ledger.flush()  # fails: nothing is lost but what the bound dropped
        assert ledger.pending == 25
    finally:
        await away.aclose()
    ledger.db = database  # the database is back
    await ledger.aclose()
    assert await rows(database) == 25


def test_month_start() -> None:
    assert month_start(datetime(2026, 12, 17, 8, 30, tzinfo=UTC)) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
