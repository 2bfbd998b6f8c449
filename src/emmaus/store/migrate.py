"""Run the packaged Alembic migrations programmatically, on SQLite and PostgreSQL alike.

The server calls `await upgrade_database(db)` at start; `emmaus db upgrade` calls `upgrade(url)`.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from emmaus.store.database import Database

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Any constant: instances starting together on PostgreSQL migrate one after the other.
PG_MIGRATION_LOCK = 0x656D6D61  # "emma"

T = TypeVar("T")

# Alembic keeps its context in module globals, so one process runs one migration at a time;
# other processes (other instances) are serialised by a lock in the database (see env.py).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _process_lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    lock = _locks.get(loop)
    if lock is None:
        lock = _locks[loop] = asyncio.Lock()
    return lock


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade_on(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _current_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def upgrade_database(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` in one transaction (DDL is transactional on both)."""
    async with _process_lock(), db.engine.begin() as conn:
        await conn.run_sync(_upgrade_on, revision)


async def current_revision_of(db: Database) -> str | None:
    async with _process_lock(), db.engine.connect() as conn:
        return await conn.run_sync(_current_on)


async def _with_database(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    db = Database(url)
    try:
        return await work(db)
    finally:
        await db.aclose()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Synchronous entry point (CLI, scripts). Inside an event loop use `upgrade_database`."""
    asyncio.run(_with_database(database_url, lambda db: upgrade_database(db, revision)))


def current_revision(database_url: str) -> str | None:
    return asyncio.run(_with_database(database_url, current_revision_of))
