"""One live Emmaus for the SDK tests (see `servers.py`), and clients on it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from emmaus.testing import UpstreamHandle, serve_upstream
from emmaus_client import AsyncEmmaus, Emmaus
from tests.sdk.servers import Server, emmaus_server, sdk_settings


@pytest.fixture(scope="session")
def sdk_upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, sdk_upstream: UpstreamHandle
) -> Iterator[Server]:
    settings = sdk_settings(tmp_path_factory.mktemp("sdk-server"), sdk_upstream)
    with emmaus_server(settings) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[Emmaus]:
    with Emmaus(
        server.base_url, client_id=server.client_id, client_secret=server.client_secret
    ) as sdk:
        yield sdk


@pytest.fixture
async def aclient(server: Server) -> AsyncIterator[AsyncEmmaus]:
    async with AsyncEmmaus(
        server.base_url, client_id=server.client_id, client_secret=server.client_secret
    ) as sdk:
        yield sdk
