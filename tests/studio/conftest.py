"""One live Emmaus and one headless Chromium per module (see `support.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.studio.support import studio_settings
from tests.support.browser import headless_chromium, require_chromium
from tests.support.live_server import live_server


@pytest.fixture(scope="module")
def chromium_path() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def studio_upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="module")
def studio_config(
    tmp_path_factory: pytest.TempPathFactory, studio_upstream: UpstreamHandle
) -> Settings:
    return studio_settings(tmp_path_factory.mktemp("studio-data"), studio_upstream)


@pytest.fixture(scope="module")
def studio_url(studio_config: Settings) -> Iterator[str]:
    with live_server(create_app(studio_config)) as url:
        yield url


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    with headless_chromium(chromium_path) as launched:
        yield launched
