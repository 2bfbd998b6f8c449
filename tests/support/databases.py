"""Storage fixtures shared by every test that touches a database or Redis.

Registered for the whole suite by `tests/conftest.py`. Use them like this:

```python
async def test_something(database: Database) -> None:          # runs twice: [sqlite], [postgresql]
    async with database.session() as s: ...

def test_raw(database_url: str) -> None: ...                    # a fresh, EMPTY (unmigrated) db

def test_shared(redis_url: str, redis_prefix: str) -> None:
    settings = Settings(redis_url=redis_url, redis_prefix=redis_prefix)
```

- `database_url` is parametrised over `sqlite` (a file in `tmp_path`) and `postgresql` (a
  database created for this test on the server at `EMMAUS_TEST_POSTGRES_URL`, default
  `postgresql://postgres@127.0.0.1:5432/test`, dropped afterwards), so parallel runs and reruns
  never collide. `database` is a migrated `Database` on it. `sqlite_url` / `postgres_url` pin one
  back end.
- `redis_url` points at `EMMAUS_TEST_REDIS_URL` (default `redis://127.0.0.1:6379/0`); keep every
  key under `redis_prefix` (random per test): the teardown deletes exactly those keys.
- A missing PostgreSQL or Redis skips the test locally and FAILS it when `CI=true`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
import redis

from emmaus.store import Database, normalise_url, upgrade_database

POSTGRES_URL = os.environ.get(
    "EMMAUS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("EMMAUS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

T = TypeVar("T")


def service_unavailable(what: str, error: BaseException) -> None:
    """Skip locally; fail under CI, where every service must be present."""
    message = f"{what} unavailable: {error!r}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync fixture code without touching pytest-asyncio's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _asyncpg_dsn(url: str) -> str:
    return normalise_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)


async def _pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(POSTGRES_URL), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server (skips/fails when absent)."""
    try:
        run_blocking(_pg_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        service_unavailable("PostgreSQL", exc)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (async URL), dropped after the test."""
    name = f"emmaus_test_{uuid.uuid4().hex[:16]}"
    run_blocking(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = normalise_url(postgres_server)
    base, _, _ = url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        run_blocking(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file in the test's temporary directory (async URL)."""
    return f"sqlite+aiosqlite:///{tmp_path / 'emmaus.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on each back end in turn."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated `Database` (schema at head) on each back end in turn."""
    db = Database(database_url)
    await upgrade_database(db)
    try:
        yield db
    finally:
        await db.aclose()


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The URL of a reachable Redis (skips/fails when absent)."""
    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.close()
    except (OSError, redis.RedisError) as exc:
        service_unavailable("Redis", exc)
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """A key prefix no other test uses; pass it as `Settings(redis_prefix=...)`."""
    return f"emmaus-test:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def redis_url(redis_server: str, redis_prefix: str) -> Iterator[str]:
    """The Redis URL; on teardown every key under `redis_prefix` (and only those) is deleted."""
    yield redis_server
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(match=f"{redis_prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
