"""One migrated database per test module and back end (creating a PostgreSQL database per test
costs a second); tests stay apart by using fresh client ids (`alice`, `bob`)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from emmaus.store import Database, upgrade_database
from tests.support.module_databases import module_database_url  # noqa: F401


@pytest.fixture(scope="module")
async def db(module_database_url: str) -> AsyncIterator[Database]:  # noqa: F811
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
