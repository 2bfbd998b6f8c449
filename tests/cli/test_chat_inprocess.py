"""`emmaus chat` with no server: the real app built in this process, spoken to through
`StreamingASGITransport` (the answer streams piece by piece, so Ctrl-C can stop it), as the
local `terminal` client; then the real program with the embedded model, fed by a pipe."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from emmaus.cli.chat_inprocess import TERMINAL_CLIENT, in_process_client
from emmaus.cli.chat_session import ChatSession
from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.api.chats.v1_support import tier_of, v1_settings
from tests.docs.readme import README, link_venv

EMMAUS = str(Path(sys.executable).parent / "emmaus")
DRIP = "drip-150+tokens-200+tag-inprocess"
SLOW_QUESTION = "Sing me a song."  # tier 1: the dripping model
QUESTION = "What should I pack for a weekend camping trip?"  # tier 2: echoed


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture
def settings(tmp_path: Path, upstream: UpstreamHandle) -> Settings:
    assert (tier_of(SLOW_QUESTION), tier_of(QUESTION)) == (1, 2)
    return v1_settings(tmp_path, upstream, None, fast=DRIP, embedded=False)


def cli(settings: Settings, *args: str) -> str:
    env = {**os.environ, "EMMAUS_DATA_DIR": str(settings.data_dir)}
    env.pop("EMMAUS_DATABASE_URL", None)
    result = subprocess.run([EMMAUS, *args], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def screen() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=80, color_system=None), buffer


async def test_a_chat_in_process_streams_and_stops(settings: Settings) -> None:
    console, out = screen()
    async with in_process_client(settings) as client:
        session = ChatSession(client, console)
        assert await session.handle(QUESTION) is True
        assert QUESTION in out.getvalue()  # the echo model's answer
        first_chat = session.state.chat_id
        assert first_chat is not None

        mark = len(out.getvalue())
        running = asyncio.create_task(session.handle(SLOW_QUESTION))
        deadline = time.monotonic() + 30
        while not out.getvalue()[mark:].strip():  # pieces arrive before the answer ends
            assert time.monotonic() < deadline and not running.done()
            await asyncio.sleep(0.05)
        session.interrupt()
        assert await asyncio.wait_for(running, 20) is True
        assert "stopped" in out.getvalue()[mark:]
        history = await client.history(first_chat)
        assert [m["role"] for m in history["messages"]] == ["user", "kallm"] * 2
        tree = await client.history(first_chat, tree=True)
        assert tree["messages"][-1]["status"] == "partial"
        assert [c["chat_id"] for c in await client.chats()] == [first_chat]

    # A second session in this data directory is the same local client: its chat is there.
    async with in_process_client(settings) as client:
        assert [c["chat_id"] for c in await client.chats()] == [first_chat]
    names = [c["name"] for c in json.loads(cli(settings, "clients", "list", "--json"))]
    assert names == [TERMINAL_CLIENT]


def readme_example() -> str:
    """The piped example of the README's "Chat in the terminal" (inline code, run as written)."""
    text = README.read_text()
    section = text.split("\n## Chat in the terminal\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"`(printf [^`]*\| \.venv/bin/emmaus chat)`", section)
    assert found, "the README shows no piped `emmaus chat` example"
    return found.group(1)


def test_the_readme_example_in_process_on_the_embedded_model(tmp_path: Path) -> None:
    env = {
        # Shorter answers than by default, so the embedded model is quick on a busy machine.
        "EMMAUS_CHAT_REPLY_MAX_TOKENS": "24",
        "EMMAUS_CHAT_EXTRAS_MAX_TOKENS": "96",
        "COLUMNS": "80",
    }
    removed = ("EMMAUS_DATA_DIR", "EMMAUS_MODELS", "EMMAUS_DATABASE_URL", "CLIENT_ID")
    environment = {k: v for k, v in os.environ.items() if k not in removed} | env
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_example()],
        cwd=link_venv(tmp_path),
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "you> Who was Moses?" in result.stdout and "emmaus-smollm2-135m" in result.stdout
    assert (tmp_path / "data" / "emmaus.db").exists()  # `./data`, as the README says
