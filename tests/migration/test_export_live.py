"""`emmaus migrate export` against a live Emmaus behind a proxy that answers scripted 429s and
503s: the waits the server asked for are honoured (and an exhausted budget waited out before
the next request), a failure is retried by a rerun that resumes
from the checkpoint (a torn last line written again, once), ids come from the app's own database
by SQL, and export → import → export gives the same file but for `user_id`."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from emmaus.cli.main import app
from emmaus.config import Settings, get_settings
from emmaus.conversations.settings import ChatSettings
from emmaus.store import Database
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.migration.fault_proxy import Fault, FaultProxy
from tests.support.auth import create_client
from tests.support.live_server import live_server


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="module")
def source(
    upstream: UpstreamHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[V1Server, list[str]]]:
    """A live Emmaus holding four chats (the last one with an edit and a regeneration), on
    SQLite: what an export sees does not depend on the source's back end (the round trip's
    target runs on both)."""
    settings = v1_settings(tmp_path_factory.mktemp("export-source"), upstream, None, embedded=False)
    with v1_server(settings, ChatSettings(titles=False)) as server, server.client() as http:
        chat_ids = []
        for n in range(4):
            turn = {"query": f"question {n}", "enable_suggestions": 0}
            chat_id = http.post("/ai/v1/message", json=turn).json()["chat_id"]
            second = http.post("/ai/v1/message", json={**turn, "chat_id": chat_id, "query": "more"})
            chat_ids.append(chat_id)
        history = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
        edited = http.post(
            "/ai/v1/chat/edit",
            json={"chat_id": chat_id, "message_id": history[2]["message_id"], "query": "less"},
        )
        assert edited.status_code == 200, edited.text
        again = http.post(
            "/ai/v1/chat/regenerate",
            json={"chat_id": chat_id, "message_id": second.json()["message_id"]},
        )
        assert again.status_code == 200, again.text
        http.patch(
            "/ai/v1/chat",
            params={"chat_id": chat_ids[0], "chat_field": "title"},
            json={"new_value": "A title"},
        )
        yield server, chat_ids


@pytest.fixture(scope="module")
def proxy(source: tuple[V1Server, list[str]]) -> Iterator[tuple[FaultProxy, str]]:
    app = FaultProxy(source[0].base_url)
    with live_server(app) as url:
        yield app, url


@dataclass(frozen=True, slots=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def cli(*args: str) -> Ran:
    """`emmaus migrate ...` in this process (the doc test runs the real executable)."""
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["migrate", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def histories(server: V1Server, chat_ids: list[str], *, tree: bool = False) -> list[dict]:  # type: ignore[type-arg]
    with server.client() as http:
        params = {"tree": "true"} if tree else {}
        return [http.get("/ai/v1/chat", params={"chat_id": c, **params}).json() for c in chat_ids]


def test_export_honours_rate_limits_and_resumes(
    source: tuple[V1Server, list[str]], proxy: tuple[FaultProxy, str], tmp_path: Path
) -> None:
    server, chat_ids = source
    faults, url = proxy
    first, second, third, fourth = chat_ids
    faults.exhausted[first] = "1"  # answered, but "no budget left for a second"
    faults.script[second] = [Fault(429, "1")]  # wait one second, as asked
    faults.script[third] = [Fault(503), Fault(429, "0")]  # backoff, then "now"
    faults.always[fourth] = Fault(500)
    output = tmp_path / "chats.jsonl"
    command = (
        *chat_ids, "--url", url, "--client-id", server.client_id,
        "--client-secret", server.secret, "-o", str(output), "--retries", "2", "--backoff", "0.05",
    )  # fmt: skip
    failed = cli("export", *command)
    assert failed.returncode == 1
    assert f"{fourth}: HTTP 500" in failed.stderr and "exported 3 of 4 chats" in failed.stderr
    [answered] = faults.requests_for(first)
    limited, retried = faults.requests_for(second)
    assert limited.at - answered.at >= 1.0  # it waited for the budget instead of a 429
    assert (limited.status, retried.status) == (429, 200)
    assert retried.at - limited.at >= 1.0  # Retry-After: 1 was honoured
    assert [s.status for s in faults.requests_for(third)] == [503, 429, 200]
    assert len(faults.requests_for(fourth)) == 3  # the first try and two retries
    lines = output.read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == histories(server, chat_ids[:3])

    with output.open("ab") as handle:  # a crash mid-line: the next run must cut it off
        handle.write(b'{"chat_id": "torn')
    del faults.always[fourth]
    del faults.exhausted[first]
    seen = len(faults.seen)
    resumed = cli("export", *command)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: 3 chats already in" in resumed.stderr
    assert [s.chat_id for s in faults.seen[seen:]] == [fourth]  # only what was missing
    exported = [orjson.loads(line) for line in output.read_bytes().splitlines()]
    assert exported == histories(server, chat_ids)

    seen = len(faults.seen)
    finished = cli("export", *command)
    assert finished.returncode == 0 and "exported 0 of 0 chats" in finished.stderr
    assert len(faults.seen) == seen
    dry = cli("export", *command, "--fresh", "--dry-run")
    assert dry.returncode == 0 and dry.stdout.split() == chat_ids


def test_chat_ids_from_the_applications_database(
    source: tuple[V1Server, list[str]], tmp_path: Path
) -> None:
    server, chat_ids = source
    app_db = tmp_path / "app.db"
    with sqlite3.connect(app_db) as conn:
        conn.execute("CREATE TABLE conversations (gloo_chat_id TEXT, archived INTEGER)")
        conn.executemany(
            "INSERT INTO conversations VALUES (?, ?)",
            [(chat_ids[0], 0), (chat_ids[1], 1), (chat_ids[2], 0)],
        )
    output = tmp_path / "chats.jsonl"
    done = cli(
        "export", "--sql", "SELECT gloo_chat_id FROM conversations WHERE archived = 0",
        "--database-url", f"sqlite:///{app_db}", "--url", server.base_url,
        "--client-id", server.client_id, "--client-secret", server.secret, "-o", str(output),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    exported = [orjson.loads(line)["chat_id"] for line in output.read_bytes().splitlines()]
    assert exported == [chat_ids[0], chat_ids[2]]
    to_stdout = cli(
        "export", chat_ids[3], "--url", server.base_url, "--client-id", server.client_id,
        "--client-secret", server.secret,
    )  # fmt: skip
    assert to_stdout.returncode == 0
    assert [orjson.loads(to_stdout.stdout)] == histories(server, chat_ids[3:])
    no_url = cli("export", "--sql", "SELECT 1", "--dry-run")
    assert no_url.returncode == 2 and "--database-url" in no_url.stderr


def test_round_trip_gives_the_same_file(
    source: tuple[V1Server, list[str]],
    upstream: UpstreamHandle,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    second_database = database_url  # empty, on each back end in turn
    server, chat_ids = source
    first = tmp_path / "first.jsonl"
    credentials = ("--client-id", server.client_id, "--client-secret", server.secret)
    done = cli(
        "export", *chat_ids, "--tree", "--url", server.base_url, *credentials, "-o", str(first)
    )
    assert done.returncode == 0, done.stderr
    assert cli("validate", str(first)).returncode == 0

    (tmp_path / "target").mkdir()
    settings: Settings = v1_settings(tmp_path / "target", upstream, second_database, embedded=False)
    owner, secret = create_client(settings)  # migrates the target database
    target = ("--client", owner, "--database-url", second_database)
    monkeypatch.setenv("EMMAUS_MODELS", str(settings.models))
    imported = cli("import", str(first), *target)
    assert imported.returncode == 0, imported.stderr
    assert "imported 4 chats" in imported.stderr
    verified = cli("verify", str(first), *target)
    assert verified.returncode == 0, verified.stderr

    with v1_server(settings, ChatSettings(titles=False)) as copy:
        second = tmp_path / "second.jsonl"
        again = cli(
            "export", *chat_ids, "--tree", "--url", copy.base_url, "--client-id", owner,
            "--client-secret", secret, "-o", str(second),
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        with httpx.Client(base_url=copy.base_url, headers=copy.headers) as http:
            assert http.get("/ai/v1/chat", params={"chat_id": chat_ids[0]}).status_code == 404
    before = [orjson.loads(line) for line in first.read_bytes().splitlines()]
    after = [orjson.loads(line) for line in second.read_bytes().splitlines()]
    # The documented difference: user_id is derived from the owning client.
    assert {b["user_id"] for b in before} != {a["user_id"] for a in after}
    for record in before + after:
        del record["user_id"]
    assert after == before
    branched = before[-1]
    assert len(branched["messages"]) > sum(m["active"] for m in branched["messages"])

    asyncio.run(tamper(second_database, before[1]["messages"][1]["message_id"]))
    caught = cli("verify", str(first), *target)
    assert caught.returncode == 1
    assert f"chat {chat_ids[1]} message {before[1]['messages'][1]['message_id']}" in caught.stderr


async def tamper(database_url: str, message_id: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            await session.execute(
                text("UPDATE messages SET content = 'edited behind its back' WHERE id = :id"),
                {"id": message_id},
            )
    finally:
        await db.aclose()
