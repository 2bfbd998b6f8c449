"""docs/migration.md runs as written, every block in order, in one working directory: Emmaus
served as `make run` serves it (the target), a live Emmaus with two chats standing in for Gloo
(same wire; its URL replaces `https://platform.ai.gloo.com`), and the application's own SQLite
database `app.db` holding the chat ids and their users, as the page assumes."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import serve_upstream
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.docs.readme import DOCUMENTED_BASE, REPO, fenced
from tests.docs.served import emmaus_serve, plain_environment

MIGRATION = REPO / "docs" / "migration.md"
GLOO = "https://platform.ai.gloo.com"
CHATGPT_FIXTURE = REPO / "tests" / "migration" / "fixtures" / "chatgpt_conversations.json"
SECTIONS = [
    "1. Stand up Emmaus",
    "2. Create a client for your app",
    "3. Export your chats",
    "4. Validate the export",
    "5. Import",
    "6. Verify",
    "7. Switch over",
]
RUNS = {("migration.md", title) for title in SECTIONS}


@pytest.fixture(scope="module")
def gloo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[V1Server, list[str]]]:
    """The chats a team has on Gloo: two, of two turns each."""
    with serve_upstream(tokens=8, token_size=4) as upstream:
        folder = tmp_path_factory.mktemp("gloo")
        settings = v1_settings(folder, upstream, None, embedded=False)
        with v1_server(settings, ChatSettings(titles=False)) as server, server.client() as http:
            chat_ids = []
            for topic in ("hope", "prayer"):
                turn = {"query": f"A verse on {topic}?", "enable_suggestions": 0}
                chat_id = http.post("/ai/v1/message", json=turn).json()["chat_id"]
                http.post("/ai/v1/message", json={**turn, "chat_id": chat_id, "query": "Another?"})
                chat_ids.append(chat_id)
            yield server, chat_ids


def run(language: str, code: str, workdir: Path, env: dict[str, str]) -> tuple[str, str]:
    """One block as a reader runs it in `workdir` (no EMMAUS_* settings): (stdout, stderr)."""
    command = (
        [sys.executable, "-c", code]
        if language == "python"
        else ["bash", "-euo", "pipefail", "-c", code]
    )
    done = subprocess.run(
        command,
        cwd=workdir,
        env={**plain_environment(), **env},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{language} block failed:\n{code}\n{done.stdout}\n{done.stderr}"
    return done.stdout, done.stderr


def test_every_section_has_its_examples() -> None:
    sections = {b.section for b in fenced(MIGRATION) if b.runnable}
    assert sections == set(SECTIONS)


def test_the_walk_through(gloo: tuple[V1Server, list[str]], tmp_path: Path) -> None:
    source, chat_ids = gloo
    blocks = [b for b in fenced(MIGRATION) if b.runnable]
    [stand_up] = [b for b in blocks if b.section == SECTIONS[0]]
    assert stand_up.code.strip() == "make run"
    resolved = subprocess.run(["make", "-n", "run"], cwd=REPO, capture_output=True, text=True)
    assert resolved.returncode == 0 and "emmaus serve" in resolved.stdout  # what emmaus_serve runs

    with sqlite3.connect(tmp_path / "app.db") as conn:  # the application's own database
        conn.execute("CREATE TABLE conversations (gloo_chat_id TEXT, user_id TEXT)")
        conn.executemany(
            "INSERT INTO conversations VALUES (?, ?)",
            [(chat_ids[0], "user-42"), (chat_ids[1], "user-7")],
        )
    shutil.copy(CHATGPT_FIXTURE, tmp_path / "conversations.json")  # a ChatGPT data export
    env = {"GLOO_CLIENT_ID": source.client_id, "GLOO_CLIENT_SECRET": source.secret}

    with emmaus_serve(tmp_path) as served:
        outputs = [
            (
                block,
                *run(
                    block.language, _pointed(block.code, source.base_url, served.url), tmp_path, env
                ),
            )
            for block in blocks[1:]
        ]
    said: dict[str, list[str]] = {block.section: [] for block in blocks}
    for block, out, err in outputs:
        said[block.section].append(out + err)

    [client] = said[SECTIONS[1]]
    assert client.strip().startswith("emc_")
    [exported] = said[SECTIONS[2]]
    assert "exported 2 of 2 chats" in exported
    lines = (tmp_path / "gloo-chats.jsonl").read_text().splitlines()
    assert len(lines) == 2 and (tmp_path / "gloo-chats.jsonl.checkpoint").exists()
    [validated] = said[SECTIONS[3]]
    assert "2 chats, 8 messages (v1): ok" in validated
    imported, chatgpt = said[SECTIONS[4]]
    assert "would import 2 chats, 8 messages (v1)" in imported
    assert "imported 2 chats, 8 messages (v1)" in imported
    assert "imported 2 chats, 10 messages (chatgpt)" in chatgpt
    [verified] = said[SECTIONS[5]]
    assert "2 chats, 8 messages: 2 match, 0 differ (0 mismatches)" in verified  # as the page says
    served_chat, sdk, rollout = said[SECTIONS[6]]
    assert served_chat.split() == [chat_ids[0], "4"]
    assert "imported 2 chats, 8 messages (v1)" in sdk and "2 match, 0 differ" in sdk
    assert rollout.split() == ["new", "4"]  # the page's comment: the imported history is used


def _pointed(code: str, gloo_url: str, emmaus_url: str) -> str:
    """The page's Gloo and Emmaus addresses pointed at the test's servers (nothing else)."""
    return code.replace(GLOO, gloo_url).replace(DOCUMENTED_BASE, emmaus_url)
