"""One migrated database per test module and back end (creating a PostgreSQL database per test
costs a second); tests stay apart by using fresh client ids (`alice`, `bob`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from emmaus.store import Database, normalise_url, upgrade_database
from tests.support.databases import _pg_admin, run_blocking


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("conversations")
        yield f"sqlite+aiosqlite:///{folder / 'emmaus.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"emmaus_test_{uuid.uuid4().hex[:16]}"
    run_blocking(_pg_admin(f'CREATE DATABASE "{name}"'))
    base, _, _ = normalise_url(server).rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        run_blocking(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
async def db(module_database_url: str) -> AsyncIterator[Database]:
    database = Database(module_database_url)
    await upgrade_database(database)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
def alice() -> str:
    return f"alice-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bob() -> str:
    return f"bob-{uuid.uuid4().hex[:8]}"


@pytest.fixture(autouse=True)
def fresh_clients(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Test modules name their clients `ALICE` and `BOB`: each test gets new ones."""
    module = request.module
    for name in ("ALICE", "BOB"):
        if hasattr(module, name):
            monkeypatch.setattr(module, name, f"{name.lower()}-{uuid.uuid4().hex[:8]}")
