"""A fresh database per test MODULE and back end (`sqlite`, `postgresql`), for suites whose tests
keep apart by other means (fresh client ids): creating a PostgreSQL database costs ~1 s, too much
per test. Import the fixture into a conftest or test module:

```python
from tests.support.module_databases import module_database_url  # noqa: F401
```
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from emmaus.store import normalise_url
from tests.support.databases import _pg_admin, run_blocking


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database (async URL) shared by the tests of one module, on each back end."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("module-db")
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
