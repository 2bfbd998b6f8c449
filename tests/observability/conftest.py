"""A live Emmaus (uvicorn on loopback, the real app) in front of the scripted upstream, with
metrics and the usage ledger on (written every 50 ms), and clients to call it as."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.support.auth import create_client, fetch_token
from tests.support.live_server import live_server

CATALOG = """
[[models]]
id = "priced"
family = "open source"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "fixed+tokens-6+tag-ops"
context_window = 32000
input_cost_per_1k = 1.0
output_cost_per_1k = 2.0
capabilities = ["streaming"]

[[models]]
id = "google-broken"
family = "google"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "fail-500+tag-ops-broken"
priority = 10
context_window = 32000
capabilities = ["streaming"]

[[models]]
id = "google-ok"
family = "google"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-ops-google"
context_window = 32000
capabilities = ["streaming"]

[[models]]
id = "flaky-once"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "flaky-1+fail-503+tag-ops-flaky"
context_window = 32000
capabilities = ["streaming"]

[[models]]
id = "dripping"
family = "open source"
tier = 3
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "drip-20+tokens-100+tag-ops-drip"  # 400 characters: past the safety hold
context_window = 32000
capabilities = ["streaming"]
"""


@dataclass
class Ops:
    base_url: str
    settings: Settings
    upstream: UpstreamHandle

    def client(self, scopes: str = "api/access", **limits: int) -> tuple[str, dict[str, str]]:
        """A new client: its id and bearer headers (token with every scope it has)."""
        client_id, secret = create_client(self.settings, scopes=scopes, **limits)  # type: ignore[arg-type]
        token = fetch_token(self.base_url, client_id, secret, scope=scopes)
        return client_id, {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def ops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ops]:
    with serve_upstream(tokens=6, token_size=4) as upstream:
        data = tmp_path_factory.mktemp("ops-data")
        catalog = data / "models.toml"
        catalog.write_text(CATALOG.format(base=upstream.base_url))
        settings = Settings(
            data_dir=data,
            models=catalog,
            upstream_retries=1,
            upstream_backoff=0.01,
            upstream_timeout=5,
            max_request_bytes=8 * 1024,
            usage_flush_interval=0.05,
        )
        with live_server(create_app(settings)) as url:
            yield Ops(url, settings, upstream)


@pytest.fixture
def http(ops: Ops) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ops.base_url, timeout=30) as client:
        yield client


def ask(model: str, content: str = "What is grace?", **extra: object) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}
