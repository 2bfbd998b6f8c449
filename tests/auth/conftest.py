"""Serve the auth test app (tests/auth/apps.py) with uvicorn on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from emmaus.api.common.server import server_options
from emmaus.config import Settings
from tests.auth.apps import create_app
from tests.support.live_server import live_server

Serve = Callable[..., AbstractContextManager[tuple[str, Settings]]]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """`with serve(rate_limit_rpm=3) as (base_url, settings): ...` (SQLite in tmp_path)."""

    @contextmanager
    def run(**overrides: object) -> Iterator[tuple[str, Settings]]:
        values: dict[str, object] = {"data_dir": tmp_path / "data", **overrides}
        settings = Settings(**values)  # type: ignore[arg-type]
        # Served as `emmaus serve` serves: forwarded headers only from configured proxies.
        with live_server(create_app(settings), **server_options(settings)) as url:
            yield url, settings

    return run
