"""Schema migrations kept in code (the simonw/llm way): each step runs once, in order, and is
recorded in `emmaus_schema`. The same steps run on SQLite and PostgreSQL; on PostgreSQL an
advisory lock makes two processes starting at once migrate one after the other."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from emmaus_client.storage import schema

Step = Callable[[Connection], None]

_LOCK_KEY = 0x454D4D41  # "EMMA": the advisory lock the steps run under on PostgreSQL


def _v1_tables(connection: Connection) -> None:
    tables = [schema.conversations, schema.messages]
    schema.metadata.create_all(connection, tables=tables)


# Append new steps; never edit or reorder a released one.
STEPS: list[Step] = [_v1_tables]
LATEST = len(STEPS)


def _applied(connection: Connection) -> int:
    schema.metadata.create_all(connection, tables=[schema.schema_versions])
    found = connection.execute(select(schema.schema_versions.c.version)).scalars().all()
    return max(found, default=0)


def _write_lock(connection: Connection) -> None:
    """Migrate one process at a time: PostgreSQL's advisory lock; on SQLite the database's write
    lock taken up front (its driver would otherwise run the DDL outside any transaction)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:  # an engine that already began (its own BEGIN recipe)
            if "within a transaction" not in str(exc):
                raise


def _upgrade(connection: Connection) -> int:
    _write_lock(connection)
    done = _applied(connection)
    for version, step in enumerate(STEPS[done:], start=done + 1):
        step(connection)
        connection.execute(
            insert(schema.schema_versions).values(version=version, applied_at=datetime.now(UTC))
        )
    return LATEST


async def migrate(engine: AsyncEngine) -> int:
    """Bring the tables to the latest version; returns it. Safe to call at every start."""
    async with engine.begin() as connection:
        return await connection.run_sync(_upgrade)


async def current_version(engine: AsyncEngine) -> int:
    async with engine.begin() as connection:
        return await connection.run_sync(_applied)
