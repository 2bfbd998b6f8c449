"""`emmaus migrate export` from a live v1 API, then `emmaus migrate import` into another database:
the chats arrive whole, with their ids, for another client. The old `emmaus chat export|import`
names still work, with a notice. (The whole toolkit is tested in `tests/migration/`.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.store import Database
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

EMMAUS = [str(Path(sys.executable).parent / "emmaus")]


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(tmp_path_factory.mktemp("v1-export"), upstream, module_database_url)
    with v1_server(settings, ChatSettings(titles=False)) as running:
        yield running


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*EMMAUS, *args], env={**os.environ, **(env or {})}, capture_output=True, text=True
    )


def test_export_then_import_moves_chats_whole(server: V1Server, tmp_path: Path) -> None:
    chat_ids = []
    with server.client() as http:
        for n in range(2):
            first = http.post(
                "/ai/v1/message", json={"query": f"chat {n}", "enable_suggestions": 0}
            )
            chat_id = first.json()["chat_id"]
            http.post(
                "/ai/v1/message",
                json={"query": "more", "chat_id": chat_id, "enable_suggestions": 0},
            )
            http.patch(
                "/ai/v1/chat",
                params={"chat_id": chat_id, "chat_field": "pin"},
                json={"new_value": True},
            )
            chat_ids.append(chat_id)
        originals = [http.get("/ai/v1/chat", params={"chat_id": c}).json() for c in chat_ids]

    exported = tmp_path / "chats.jsonl"
    done = cli(
        "migrate", "export", *chat_ids, "missing-chat", "--url", server.base_url,
        "--client-id", server.client_id, "--client-secret", server.secret, "-o", str(exported),
    )  # fmt: skip
    assert done.returncode == 1 and "missing-chat: HTTP 404" in done.stderr  # the rest is kept
    lines = [orjson.loads(line) for line in exported.read_text().splitlines()]
    assert lines == originals

    target = tmp_path / "target"
    env = {
        "EMMAUS_DATA_DIR": str(target),
        "EMMAUS_MODELS": str(server.settings.models),
        "EMMAUS_DATABASE_URL": "",
    }
    imported = cli("migrate", "import", str(exported), "--client", "emc_new_owner", env=env)
    assert imported.returncode == 0, imported.stderr
    again = cli("migrate", "import", str(exported), "--client", "emc_new_owner", env=env)
    assert again.returncode == 0 and "skipped 2 already imported" in again.stderr  # idempotent
    skipped = cli(
        "chat", "import", str(exported), "--client", "emc_new_owner", "--skip-existing", env=env
    )
    assert skipped.returncode == 0 and "skipped 2" in skipped.stderr
    assert "`emmaus chat import` is now `emmaus migrate import`" in skipped.stderr  # old name

    async def stored() -> list[list[tuple[str, str, str]]]:
        db = Database(f"sqlite:///{target / 'emmaus.db'}")
        try:
            manager = ConversationManager(db)
            result = []
            for chat_id in chat_ids:
                chat, messages = await manager.history("emc_new_owner", chat_id)
                assert chat.pin is True
                result.append([(m.id, m.role, m.content) for m in messages])
            return result
        finally:
            await db.aclose()

    expected = [
        [
            (m["message_id"], "user" if m["role"] == "user" else "assistant", m["message"])
            for m in original["messages"]
        ]
        for original in originals
    ]
    assert asyncio.run(stored()) == expected
