"""A live Emmaus for the v1 tests: uvicorn on loopback, a catalog of scripted `echo` models
(a reply repeats its question, so ordering is checkable) on three tiers, plus the embedded model
as the only JSON-capable model (suggestions and titles are real grammar-constrained output)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.support.auth import create_client, fetch_token
from tests.support.live_server import live_server

CATALOG = """
[[models]]
id = "echo-fast"
family = "openai"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "{fast}+tag-v1fast"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming"]

[[models]]
id = "echo-mid"
family = "openai"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "{mid}+tag-v1mid"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming"]

[[models]]
id = "echo-deep"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "{deep}+tag-v1deep"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming"]
"""

EMBEDDED = """
[[models]]
id = "emmaus-smollm2-135m"
family = "open source"
tier = 1
priority = -10  # only chosen when JSON is needed (suggestions, titles)
provider = "local"
context_window = 2048
max_output_tokens = 160
capabilities = ["json", "streaming"]
"""


TEST_CHAT_SETTINGS = ChatSettings(extras_timeout=180)


@dataclass(frozen=True, slots=True)
class V1Server:
    base_url: str
    settings: Settings
    client_id: str
    secret: str
    headers: dict[str, str]
    app: Any = None  # the FastAPI app being served (its state: app.state.chat ...)

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=headers or self.headers, timeout=60)

    def new_client(self) -> tuple[str, dict[str, str]]:
        """Another API client of the same server: (client_id, headers)."""
        client_id, _, headers = authenticate(self.base_url, self.settings)
        return client_id, headers


def authenticate(base_url: str, settings: Settings) -> tuple[str, str, dict[str, str]]:
    """A new API client: (client_id, client_secret, bearer headers)."""
    client_id, secret = create_client(settings)
    token = fetch_token(base_url, client_id, secret)
    return client_id, secret, {"Authorization": f"Bearer {token}"}


def v1_settings(
    data_dir: Path,
    upstream: UpstreamHandle,
    database_url: str | None,
    *,
    window: int = 8192,
    fast: str = "echo",
    mid: str = "echo",
    deep: str = "echo",
    embedded: bool = True,
) -> Settings:
    """Settings for a server whose tier 1/2/3 text models answer by the scripted upstream
    words `fast`, `mid` and `deep` (auto-routing picks the tier from the question). Without
    `embedded` there is no JSON-capable model (no suggestions: start faster, use less memory)."""
    catalog = data_dir / "models.toml"
    text = CATALOG.format(base=upstream.base_url, window=window, fast=fast, mid=mid, deep=deep)
    catalog.write_text(text + (EMBEDDED if embedded else ""))
    return Settings(
        data_dir=data_dir,
        models=catalog,
        database_url=database_url,
        upstream_retries=0,
        upstream_timeout=10,
        safety_stream_hold=48,  # streams of a few dozen characters still arrive in pieces
    )


def tier_of(query: str) -> int:
    """The tier auto-routing gives `query` (the v1 turn routes on the question alone)."""
    from emmaus.engine.routing import TierClassifier
    from emmaus.engine.types import Message

    return TierClassifier.load().classify([Message("user", query)]).tier


def upstream_name(tier: int, script: str = "echo") -> str:
    """What the upstream sees as the model of a tier (for `UpstreamHandle.last_request`)."""
    return f"{script}+tag-v1{('fast', 'mid', 'deep')[tier - 1]}"


@contextmanager
def v1_server(settings: Settings, chat_settings: ChatSettings | None = None) -> Iterator[V1Server]:
    app = create_app(settings)
    # The embedded model writes suggestions; on a loaded 2-core machine that can take a while.
    app.state.chat_settings = chat_settings or TEST_CHAT_SETTINGS
    with live_server(app) as url:
        client_id, secret, headers = authenticate(url, settings)
        yield V1Server(url, settings, client_id, secret, headers, app)
