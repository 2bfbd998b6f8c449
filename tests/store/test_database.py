"""The engine wrapper: URL handling, SQLite pragmas, sessions and time zones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import asyncpg
import pytest
from sqlalchemy import func, select, text

from emmaus.config import Settings
from emmaus.store import ClientRow, Database, database_url_for, normalise_url, utcnow
from emmaus.store import database as database_module


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h:5432/db", "postgresql+asyncpg://u:p@h:5432/db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
    ],
)
def test_normalise_url(given: str, expected: str) -> None:
    assert normalise_url(given) == expected


def test_unsupported_database_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        normalise_url("mysql://u@h/db")


def test_default_url_is_sqlite_in_data_dir(tmp_path) -> None:
    url = database_url_for(Settings(data_dir=tmp_path / "d"))
    assert url == f"sqlite+aiosqlite:///{(tmp_path / 'd').resolve()}/emmaus.db"
    explicit = database_url_for(Settings(database_url="postgres://x@h/db"))
    assert explicit == "postgresql+asyncpg://x@h/db"


async def test_sqlite_pragmas(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        assert db.dialect == "sqlite"
        async with db.session() as s:
            assert (await s.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await s.execute(text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await s.execute(text("PRAGMA busy_timeout"))).scalar() >= 5000
    finally:
        await db.aclose()


def _client(cid: str, created: datetime | None = None) -> ClientRow:
    return ClientRow(
        id=cid, name="n", secret_hash="h", scopes="api/access", created_at=created or utcnow()
    )


async def test_session_commits_or_rolls_back(database: Database) -> None:
    async with database.session() as s:
        s.add(_client("a"))
    with pytest.raises(RuntimeError):
        async with database.session() as s:
            s.add(_client("b"))
            await s.flush()
            raise RuntimeError("boom")
    async with database.session() as s:
        ids = (await s.scalars(select(ClientRow.id))).all()
    assert ids == ["a"]


async def test_timestamps_come_back_aware_utc(database: Database) -> None:
    paris = timezone(timedelta(hours=2))
    when = datetime(2025, 7, 14, 18, 29, 42, 60759, tzinfo=paris)
    async with database.session() as s:
        s.add(_client("t", when))
    async with database.session() as s:
        row = await s.get(ClientRow, "t")
    assert row is not None
    assert row.created_at == when
    assert row.created_at.tzinfo is not None
    assert row.created_at.utcoffset() == UTC.utcoffset(None)


async def test_write_sessions_serialise_read_then_write(database: Database) -> None:
    """Read-modify-write in parallel: `write=True` makes each one wait instead of failing."""

    async def add_next() -> None:
        async with database.session(write=True) as s:
            if database.dialect == "postgresql":
                await s.execute(text("LOCK TABLE clients IN EXCLUSIVE MODE"))
            n = (await s.execute(select(func.count()).select_from(ClientRow))).scalar_one()
            await asyncio.sleep(0.01)
            s.add(_client(f"c{n}"))

    await asyncio.gather(*(add_next() for _ in range(8)))
    async with database.session() as s:
        ids = set((await s.scalars(select(ClientRow.id))).all())
    assert ids == {f"c{i}" for i in range(8)}


async def test_a_pooled_connection_closed_by_the_server_is_replaced(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ping on a busy connection, but one idle past `PING_AFTER_IDLE_S` is pinged first: a
    connection the server closed meanwhile (a restart, a failover) is replaced, not handed out."""
    monkeypatch.setattr(database_module, "PING_AFTER_IDLE_S", 0.05)
    db = Database(postgres_url, pool_size=1)
    try:
        async with db.session() as s:
            first = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        admin = await asyncpg.connect(postgres_url.replace("+asyncpg", ""))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        finally:
            await admin.close()
        await asyncio.sleep(0.1)
        async with db.session() as s:
            second = (await s.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert second != first
    finally:
        await db.aclose()
