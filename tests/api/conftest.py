"""A live Emmaus (uvicorn on loopback) in front of a scripted upstream and the embedded model.

The catalog spans families and tiers so routing, fallback and capability checks run for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.support.auth import bearer_headers
from tests.support.live_server import live_server

CATALOG = """
[[models]]
id = "emmaus-smollm2-135m"
family = "open source"
tier = 1
provider = "local"
context_window = 2048
max_output_tokens = 64
capabilities = ["tools", "streaming", "json"]

[[models]]
id = "echo-openai"
family = "openai"
tier = 2
provider = "openai"
vendor = "openai"
base_url = "{base}"
upstream_model = "echo"
api_key_env = "EMMAUS_TEST_UPSTREAM_KEY"
context_window = 128000
capabilities = ["tools", "streaming", "json"]

[[models]]
id = "deep-anthropic"
family = "anthropic"
tier = 3
provider = "openai"
vendor = "anthropic"
base_url = "{base}"
upstream_model = "fixed+tokens-5+tag-deep"
context_window = 200000
input_cost_per_1k = 3.0
capabilities = ["tools", "streaming"]

[[models]]
id = "google-broken"
family = "google"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "fail-500+tag-broken"
priority = 10
context_window = 32000
capabilities = ["streaming"]

[[models]]
id = "google-ok"
family = "google"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-google"
context_window = 32000
capabilities = ["streaming"]

[[models]]
id = "scripted"
family = "open source"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "fixed"
context_window = 32000
capabilities = ["streaming", "tools"]

[[models]]
id = "recite"
priority = -10  # answers the last line of the system message: a scripted answer
family = "open source"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "recite+tag-recite"
context_window = 32000
capabilities = ["streaming", "tools"]

[[models]]
id = "mid-disconnect"
priority = -10  # scripted faults: never picked by routing
family = "open source"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "disconnect+tag-mid"
context_window = 32000

[[models]]
id = "mid-malformed"
priority = -10  # scripted faults: never picked by routing
family = "open source"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "malformed+tag-mid"
context_window = 32000

[[models]]
id = "mid-no-finish"
priority = -10  # scripted faults: never picked by routing
family = "open source"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "no-finish+tag-mid"
context_window = 32000

[[models]]
id = "slow-drip"
priority = -10  # scripted faults: never picked by routing
family = "open source"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "drip-100+tokens-200+tag-cancel"
context_window = 32000

[[models]]
id = "slow-budget"
priority = -10  # the token-budget burst: every admitted call still runs when the rest arrive
family = "open source"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "slow-3000+tag-budget"
context_window = 32000

[[models]]
id = "slow-start"
priority = -10  # scripted faults: never picked by routing
family = "open source"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "slow-5000+tag-cancel2"
context_window = 32000
"""


@pytest.fixture(scope="session")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="session")
def api_settings(tmp_path_factory: pytest.TempPathFactory, upstream: UpstreamHandle) -> Settings:
    data = tmp_path_factory.mktemp("emmaus-data")
    catalog = data / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    return Settings(
        data_dir=data,
        models=catalog,
        upstream_retries=1,
        upstream_backoff=0.01,
        upstream_timeout=5,
        max_request_bytes=64 * 1024,
    )


@pytest.fixture(scope="session")
def base_url(api_settings: Settings, monkeypatch_session: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch_session.setenv("EMMAUS_TEST_UPSTREAM_KEY", "sk-upstream-secret")
    with live_server(create_app(api_settings)) as url:
        yield url


@pytest.fixture(scope="session")
def monkeypatch_session() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def auth_headers(base_url: str, api_settings: Settings) -> dict[str, str]:
    """Headers that authenticate a test client (no rate limits) against the live server."""
    return bearer_headers(base_url, api_settings)


@pytest.fixture
def http(base_url: str, auth_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=auth_headers, timeout=60) as client:
        yield client


def catalog_path(settings: Settings) -> Path:
    assert settings.models is not None
    return settings.models
