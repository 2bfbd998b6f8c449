"""A live Emmaus for the Responses and Conversations tests: scripted upstream models (`echo`
repeats the last user message, so the context a model saw is checkable; `tools` calls a tool;
`drip` streams slowly enough to cancel), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openai import OpenAI

from emmaus.config import Settings
from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server

CATALOG = """
[[models]]
id = "echo-fast"
family = "openai"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-rfast"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming", "tools", "json"]

[[models]]
id = "echo-mid"
family = "openai"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-rmid"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming", "tools", "json"]

[[models]]
id = "echo-deep"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "echo+tag-rdeep"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming", "tools", "json"]

[[models]]
id = "tooler"
family = "open source"
tier = 2
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "tools+tag-rtools"
context_window = {window}
capabilities = ["streaming", "tools"]

[[models]]
id = "recite"
family = "open source"
tier = 2
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "recite+tag-rrecite"
context_window = {window}
capabilities = ["streaming", "tools"]

[[models]]
id = "drip"
family = "open source"
tier = 3
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "drip-50+tokens-400+tag-rdrip"
context_window = {window}
max_output_tokens = 1024
capabilities = ["streaming"]

[[models]]
id = "broken"
family = "open source"
tier = 3
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "disconnect+tokens-40+tag-rbroken"
context_window = {window}
capabilities = ["streaming"]
"""


def responses_settings(
    data_dir: Path, upstream: UpstreamHandle, database_url: str | None, *, window: int = 8192
) -> Settings:
    catalog = data_dir / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url, window=window))
    return Settings(
        data_dir=data_dir,
        models=catalog,
        database_url=database_url,
        upstream_retries=0,
        upstream_timeout=20,
        safety_stream_hold=48,
    )


@contextmanager
def responses_server(settings: Settings) -> Iterator[V1Server]:
    chat = ChatSettings(titles=False, extras_timeout=60, partial_save_interval=0.2)
    with v1_server(settings, chat) as running:
        yield running


def sdk(server: V1Server, headers: dict[str, str]) -> OpenAI:
    """The official OpenAI SDK pointed at the server, with this client's token."""
    token = headers["Authorization"].removeprefix("Bearer ")
    return OpenAI(base_url=server.base_url + "/ai/v1", api_key=token, max_retries=0, timeout=60)
