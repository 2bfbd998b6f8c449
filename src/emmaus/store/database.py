"""The async SQLAlchemy engine and session factory.

SQLite (the embedded default, a file in the data directory) and PostgreSQL (production) are the
two supported back ends. SQLite connections get WAL, foreign keys and a busy timeout; SQLAlchemy,
not the sqlite3 driver, emits BEGIN so that transactions (and DDL) behave as on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import Executable

from emmaus.config import Settings
from emmaus.observability import tracing

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A pooled connection idle this long is pinged before use (a restarted or failed-over server
# closed it); a busier one is trusted, which saves a round trip on every checkout. SQLAlchemy's
# `pool_pre_ping` pings on every checkout: three or four times per stored turn.
PING_AFTER_IDLE_S = 1.0
_BEGIN_OPTION = "emmaus_sqlite_begin"


def database_url_for(settings: Settings) -> str:
    """The configured URL, or the SQLite file `<data_dir>/emmaus.db`."""
    if settings.database_url:
        return normalise_url(settings.database_url)
    path = Path(settings.data_dir).expanduser().resolve() / "emmaus.db"
    return f"sqlite+aiosqlite:///{path}"


def normalise_url(url: str) -> str:
    """Map the URL spellings operators use to the async drivers we ship.

    `postgres://`, `postgresql://` and `postgresql+<any driver>://` become `postgresql+asyncpg://`
    (libpq's `sslmode` becomes asyncpg's `ssl`); `sqlite://` becomes `sqlite+aiosqlite://`.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+asyncpg")
        query = dict(parsed.query)
        if "sslmode" in query and "ssl" not in query:
            query["ssl"] = query.pop("sslmode")
            parsed = parsed.set(query=query)
    elif backend == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.render_as_string(hide_password=False)


def _sqlite_file(url: URL) -> Path | None:
    name = url.database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _install_sqlite_hooks(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see `_on_begin`): the driver's legacy mode skips BEGIN
        # for SELECT and DDL, which breaks repeatable reads and transactional migrations.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL, far fewer fsyncs
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _install_idle_ping(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # new, or in steady use
        try:
            ok = engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            ok, reason = False, exc
        else:
            reason = None
        if not ok:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError(f"stale pooled connection: {reason}")


class Database:
    """One engine per process. `session()` is the unit of work.

    ```python
    async with db.session() as s:              # commits on success, rolls back on error
        s.add(row)
    async with db.session(write=True) as s:    # read-then-write: takes SQLite's write lock first
        ...
    ```
    """

    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        parsed = make_url(self.url)
        kwargs: dict[str, Any] = {"echo": echo}
        if parsed.get_backend_name() == "sqlite":
            path = _sqlite_file(parsed)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size * 2)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _install_sqlite_hooks(self.engine)
        else:  # a SQLite file is never closed under us
            _install_idle_ping(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write_sessions = async_sessionmaker(
            self.engine,
            expire_on_commit=False,
            execution_options={_BEGIN_OPTION: "IMMEDIATE"} if self.dialect == "sqlite" else {},
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(database_url_for(settings))

    @property
    def dialect(self) -> str:
        """`"sqlite"` or `"postgresql"`."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self, *, write: bool = False) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits when the block ends and rolls back on an exception.

        `write=True` starts SQLite transactions with `BEGIN IMMEDIATE` so a read-then-write
        transaction waits for the write lock up front instead of failing with "database is
        locked" when it upgrades; on PostgreSQL use `SELECT ... FOR UPDATE` for row locks.
        Calling `await s.commit()` inside the block is allowed (a new transaction begins).
        """
        factory = self._write_sessions if write else self._sessions
        # A span per transaction when OpenTelemetry is configured (a no-op object otherwise).
        with tracing.span(
            "emmaus.store", self._span_attributes(write) if tracing.enabled() else None
        ):
            async with factory() as session:
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()

    def _span_attributes(self, write: bool) -> dict[str, object]:
        return {"db.system.name": self.dialect, "emmaus.store.write": write}

    @asynccontextmanager
    async def autocommit(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection whose statements each commit on their own (no BEGIN and COMMIT
        round trips)."""
        async with self.engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")

    @asynccontextmanager
    async def reads_alone(self) -> AsyncIterator[AsyncSession]:
        """A session on `autocommit()`, for reads that need no common snapshot."""
        async with (
            self.autocommit() as connection,
            AsyncSession(bind=connection, expire_on_commit=False) as session,
        ):
            yield session

    async def execute_alone(self, statement: Executable) -> int:
        """Run one statement in autocommit (it is its own transaction: no BEGIN and COMMIT round
        trips); the rows it matched. For a single statement whose effect is whole on its own,
        such as one `UPDATE`, or several joined in one statement by CTEs on PostgreSQL."""
        async with self.autocommit() as connection:
            result = await connection.execute(statement)
            return int(result.rowcount)  # type: ignore[attr-defined]

    async def aclose(self) -> None:
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url)!r})"
