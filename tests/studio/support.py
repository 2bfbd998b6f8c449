"""Emmaus Studio under test: the real app served by uvicorn on loopback, in front of a scripted
upstream whose models answer deterministically, and Debian's Chromium driven by Playwright
(`executable_path`, headless; no browser is ever downloaded).

Models of the catalog (chosen in the page's chat settings, or by auto-routing):

- `echo-fast`, `echo-mid`, `echo-deep`: tiers 1-3; the answer repeats the question, so a question
  holding `<img src=x onerror=alert(1)>` gets a model reply holding it.
- `drip-stream`: echoes in 3-character pieces 40 ms apart: a stream to watch arrive.
- `slow-stream`: echoes in 3-character pieces 150 ms apart (a 400-character question takes
  20 s): something to stop. Never auto-routed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from emmaus.config import Settings
from emmaus.conversations.ids import QUERY, new_id
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.types import NewMessage
from emmaus.store import Database, upgrade_database, utcnow
from emmaus.testing import UpstreamHandle
from tests.support.auth import create_client
from tests.support.databases import run_blocking

CATALOG = """
[[models]]
id = "echo-fast"
family = "openai"
tier = 1
provider = "openai"
vendor = "openai"
base_url = "{base}"
upstream_model = "echo+tag-studiofast"
context_window = 32000
max_output_tokens = 512
input_cost_per_1k = 0.5
output_cost_per_1k = 1.5
capabilities = ["streaming"]

[[models]]
id = "echo-mid"
family = "openai"
tier = 2
provider = "openai"
vendor = "openai"
base_url = "{base}"
upstream_model = "echo+tag-studiomid"
context_window = 32000
max_output_tokens = 512
capabilities = ["streaming"]

[[models]]
id = "echo-deep"
family = "anthropic"
tier = 3
provider = "openai"
vendor = "anthropic"
base_url = "{base}"
upstream_model = "echo+tag-studiodeep"
context_window = 32000
max_output_tokens = 512
capabilities = ["streaming"]

[[models]]
id = "drip-stream"
family = "google"
tier = 2
priority = -10  # never auto-routed: a stream slow enough to watch (40 ms per 3 characters)
provider = "openai"
vendor = "google"
base_url = "{base}"
upstream_model = "echo+drip-40+size-3+tag-studiodrip"
context_window = 32000
max_output_tokens = 512
capabilities = ["streaming"]

[[models]]
id = "slow-stream"
family = "google"
tier = 2
priority = -10  # never auto-routed: chosen in the chat settings to have something to stop
provider = "openai"
vendor = "google"
base_url = "{base}"
upstream_model = "echo+drip-150+size-3+tag-studioslow"
context_window = 32000
max_output_tokens = 512
capabilities = ["streaming"]
"""


def studio_settings(data_dir: Path, upstream: UpstreamHandle) -> Settings:
    catalog = data_dir / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    return Settings(
        data_dir=data_dir,
        models=catalog,
        upstream_retries=0,
        upstream_timeout=60,
        safety_stream_hold=48,  # short answers still arrive in several pieces
    )


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    secret: str


def new_credentials(settings: Settings, name: str = "studio") -> Credentials:
    client_id, secret = create_client(settings, name)
    return Credentials(client_id, secret)


def seed_chat(settings: Settings, client_id: str, messages: list[NewMessage], title: str) -> str:
    """A chat of `messages` (oldest first) written straight into the store; returns its id."""

    async def seed() -> str:
        db = Database.from_settings(settings)
        try:
            await upgrade_database(db)
            chat = await ConversationManager(db).import_chat(client_id, messages, title=title)
            return chat.id
        finally:
            await db.aclose()

    return run_blocking(seed())


def seed_long_chat(settings: Settings, client_id: str, messages: int, title: str) -> str:
    """A chat of `messages` stored messages (question/answer pairs) written straight into the
    store in one transaction, as an import would; returns its id."""

    async def seed() -> str:
        db = Database.from_settings(settings)
        try:
            await upgrade_database(db)
            manager = ConversationManager(db)
            start = utcnow() - timedelta(days=30)
            rows = []
            query_id = ""
            for n in range(messages):
                exchange = n // 2 + 1
                if n % 2 == 0:
                    query_id = new_id(QUERY)
                    text = f"Question {exchange}: what does verse {exchange} say?"
                    role = "user"
                else:
                    text = f"Answer {exchange}: verse {exchange} speaks of **grace**."
                    role = "assistant"
                rows.append(NewMessage(role, text, 12, query_id=query_id, created_at=start))
                start += timedelta(seconds=1)
            chat = await manager.import_chat(client_id, rows, title=title)
            return chat.id
        finally:
            await db.aclose()

    return run_blocking(seed())
