"""Migrations run on a fresh SQLite file and a fresh PostgreSQL database, and match the models."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text

from emmaus.store import Database, current_revision, head_revision, upgrade, upgrade_database
from emmaus.store.migrate import PG_MIGRATION_LOCK, current_revision_of
from emmaus.store.schema import all_metadata


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, all_metadata()))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def test_sync_upgrade_reaches_head(database_url: str) -> None:
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()
    upgrade(database_url)  # idempotent
    assert current_revision(database_url) == head_revision()


async def test_models_match_migrations(database: Database) -> None:
    async with database.engine.connect() as conn:
        assert "clients" in await conn.run_sync(_tables)
        assert await conn.run_sync(_diff) == []
    assert await current_revision_of(database) == head_revision()


async def test_concurrent_upgrades_in_one_process(database_url: str) -> None:
    dbs = [Database(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade_database(db) for db in dbs))
        assert await current_revision_of(dbs[0]) == head_revision()
    finally:
        for db in dbs:
            await db.aclose()


async def test_instances_take_turns_on_postgresql(postgres_url: str) -> None:
    """A second instance waits on the migration lock held by the first instead of racing it."""
    holder = Database(postgres_url)
    code = "import sys; from emmaus.store import upgrade; upgrade(sys.argv[1])"
    try:
        async with holder.engine.connect() as conn:
            await conn.execute(text(f"SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))
            proc = subprocess.Popen([sys.executable, "-c", code, postgres_url])  # noqa: ASYNC220
            waiting = text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            for _ in range(600):
                if (await conn.execute(waiting)).scalar_one():
                    break
                await asyncio.sleep(0.05)
            else:
                proc.kill()
                pytest.fail("the upgrade never waited for the lock")
            assert await current_revision_of(holder) is None
            await conn.execute(text(f"SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"))
        assert await asyncio.to_thread(proc.wait, 60) == 0
        assert await current_revision_of(holder) == head_revision()
    finally:
        await holder.aclose()
