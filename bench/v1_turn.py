"""A stored turn's added latency over the upstream alone, for a v1 message (`POST /ai/v1/message`)
and a Responses turn appended to the same chat as a conversation (`POST /ai/v1/responses` with
`conversation`, `truncation: "auto"`), at history lengths 10, 1,000 and 10,000 messages, on
SQLite and PostgreSQL, in one run.

Chats are seeded directly through the ConversationManager; turns are then sent one at a time to
`POST /ai/v1/message` of a real `emmaus serve` process (suggestions off: this measures the store
and the context, not a second completion). The upstream alone is the same scripted server called
directly with the very request Emmaus sent it, so a bigger context costs the baseline too.
Added latency = Emmaus minus direct. Two model windows:

- `window-bound` (the flatness check): a 640-token window holds ~10 turns at every history
  length, so only the history's length varies. The cost must stay flat within 1.2x.
- `realistic`: a 4,096-token window; long chats carry a summary row and ~40-100 verbatim turns
  (the steady state of summarisation), short ones all their turns.

Run: `python -m bench.v1_turn [--turns N] [--postgres URL] [--surfaces v1,responses]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg
import httpx
import orjson
from rich.console import Console
from rich.table import Table

from bench.harness import VENV_BIN, free_port, wait_http
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.types import NewMessage
from emmaus.engine.providers.token_estimate import estimate_tokens
from emmaus.store import Database, normalise_url, upgrade_database
from emmaus.testing import UpstreamHandle, serve_upstream_process

UPSTREAM_MODEL = "fixed+tag-benchv1"
CATALOG = """
[[models]]
id = "bench-model"
family = "open source"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "fixed+tag-benchv1"
context_window = {window}
max_output_tokens = 256
capabilities = ["streaming"]
"""
LENGTHS = (10, 1_000, 10_000)
# Chats per history length: each measured turn goes to the next chat, so a chat's history
# grows by a few messages at most during the run (and never past a summary threshold).
CHATS = {10: 150, 1_000: 10, 10_000: 10}
SUMMARY_TAIL = 40  # in `realistic`, a long chat's summary covers all but its newest messages
QUESTION = "What does the word grace mean?"


@dataclass(frozen=True)
class Config:
    name: str
    window: int
    summaries: bool


CONFIGS = (Config("window-bound", 640, False), Config("realistic", 4096, True))


@dataclass
class Server:
    base_url: str
    token: str
    client_id: str
    database_url: str


@contextmanager
def emmaus_server(database_url: str, upstream: UpstreamHandle, config: Config) -> Iterator[Server]:
    data = Path(tempfile.mkdtemp(prefix="emmaus-bench-v1-"))
    (data / "models.toml").write_text(CATALOG.format(base=upstream.base_url, window=config.window))
    env = {
        **os.environ,
        "EMMAUS_DATA_DIR": str(data),
        "EMMAUS_MODELS": str(data / "models.toml"),
        "EMMAUS_DATABASE_URL": database_url,
        "EMMAUS_LOG_LEVEL": "warning",
        "EMMAUS_RATE_LIMIT_RPM": "0",
        "EMMAUS_RATE_LIMIT_TPM": "0",
        "EMMAUS_CHAT_TITLES": "false",
        "EMMAUS_CHAT_SUMMARIES": "true" if config.summaries else "false",
    }
    emmaus = str(VENV_BIN / "emmaus")
    created = subprocess.run(
        [emmaus, "clients", "create", "--name", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    credentials = json.loads(created.stdout)
    port = free_port()
    process = subprocess.Popen(
        [emmaus, "serve", "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health")
        token = httpx.post(
            f"{base}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
        ).json()["access_token"]
        yield Server(base, token, credentials["client_id"], database_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(data, ignore_errors=True)


def history(length: int) -> list[NewMessage]:
    messages = []
    for i in range(length):
        text = (
            f"Message {i}: a question about the letters of Paul and the early church."
            if i % 2 == 0
            else f"Reply {i}: Paul wrote to young churches about grace, faith and hope."
        )
        role = "user" if i % 2 == 0 else "assistant"
        messages.append(NewMessage(role, text, token_count=estimate_tokens(text)))
    return messages


async def seed(server: Server, config: Config) -> dict[int, list[str]]:
    """Chats of each history length for the bench client (plus a few to warm up with)."""
    db = Database(server.database_url)
    manager = ConversationManager(db)
    chats: dict[int, list[str]] = {}
    try:
        for length in (*LENGTHS, 0):
            chats[length] = []
            for _ in range(CHATS.get(length, 4)):
                chat = await manager.import_chat(server.client_id, history(length), title="b")
                if config.summaries and length > SUMMARY_TAIL:
                    _, stored = await manager.history(server.client_id, chat.id)
                    covered = stored[: length - SUMMARY_TAIL]
                    await manager.add_summary(chat.id, covered, "They discussed Paul.", 6)
                chats[length].append(chat.id)
    finally:
        await db.aclose()
    return chats


async def timed_post(client: aiohttp.ClientSession, url: str, body: bytes, headers: dict) -> float:
    started = time.perf_counter()
    async with client.post(url, data=body, headers=headers) as response:
        response.raise_for_status()
        await response.read()
    return (time.perf_counter() - started) * 1000


SURFACES = ("v1", "responses")


def turn_request(surface: str, chat_id: str) -> tuple[str, bytes]:
    """The path and body of one stored turn on `surface`, appended to `chat_id`."""
    if surface == "v1":
        body = {"query": QUESTION, "chat_id": chat_id, "enable_suggestions": 0}
        return "/ai/v1/message", orjson.dumps(body)
    body = {"model": "bench-model", "input": QUESTION, "conversation": chat_id}
    return "/ai/v1/responses", orjson.dumps({**body, "truncation": "auto"})


@dataclass
class Row:
    surface: str
    config: str
    backend: str
    length: int
    emmaus_ms: list[float]
    direct_ms: list[float]
    context_messages: int

    @property
    def added(self) -> float:
        return statistics.median(self.emmaus_ms) - statistics.median(self.direct_ms)


async def measure(
    server: Server,
    upstream: UpstreamHandle,
    backend: str,
    config: Config,
    turns: int,
    surfaces: tuple[str, ...] = SURFACES,
) -> list[Row]:
    rows = []
    for surface in surfaces:
        rows += await measure_surface(server, upstream, backend, config, turns, surface)
    return rows


async def measure_surface(
    server: Server,
    upstream: UpstreamHandle,
    backend: str,
    config: Config,
    turns: int,
    surface: str,
) -> list[Row]:
    """Turns go to the history lengths in turn (10, 1,000, 10,000, 10, ...) so that warm-up
    and drift of the machine weigh on every length alike."""
    chats = await seed(server, config)
    path, _ = turn_request(surface, "")
    url = f"{server.base_url}{path}"
    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
    direct_url = f"{upstream.base_url}/chat/completions"
    plain = {"Content-Type": "application/json"}

    def body(length: int, n: int) -> bytes:
        return turn_request(surface, chats[length][n % len(chats[length])])[1]

    emmaus_ms: dict[int, list[float]] = {length: [] for length in LENGTHS}
    direct_ms: dict[int, list[float]] = {length: [] for length in LENGTHS}
    sent: dict[int, dict] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:
        for n in range(40):  # warm up: connections, code paths
            await timed_post(client, url, body(0, n), headers)
        for n in range(turns):
            for length in LENGTHS:
                emmaus_ms[length].append(await timed_post(client, url, body(length, n), headers))
        for length in LENGTHS:  # one more turn each, to see what Emmaus sends upstream
            await timed_post(client, url, body(length, turns), headers)
            request = upstream.last_request(UPSTREAM_MODEL)
            assert request is not None
            assert "Summarise" not in request["body"]["messages"][0]["content"]
            sent[length] = request["body"]
        replays = {length: orjson.dumps(sent[length]) for length in LENGTHS}
        for _ in range(turns):
            for length in LENGTHS:
                direct_ms[length].append(
                    await timed_post(client, direct_url, replays[length], plain)
                )
    return [
        Row(
            surface,
            config.name,
            backend,
            length,
            emmaus_ms[length],
            direct_ms[length],
            len(sent[length]["messages"]),
        )
        for length in LENGTHS
    ]


@contextmanager
def postgres_database(admin_url: str, *, async_commit: bool = False) -> Iterator[str]:
    """A fresh database; with `async_commit`, its commits do not wait for the WAL to reach
    the disk (`synchronous_commit = off`): what Emmaus itself costs, apart from the disk's
    fsync, which on some virtual disks is ~2 ms a commit."""
    name = f"emmaus_bench_{uuid.uuid4().hex[:12]}"
    dsn = normalise_url(admin_url).replace("postgresql+asyncpg://", "postgresql://", 1)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    if async_commit:
        asyncio.run(admin(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    base, _, _ = normalise_url(admin_url).rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def migrate(url: str) -> None:
    db = Database(url)
    try:
        await upgrade_database(db)
    finally:
        await db.aclose()


@contextmanager
def sqlite_database() -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="emmaus-bench-sqlite-"))
    try:
        yield f"sqlite:///{folder / 'emmaus.db'}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(
    turns: int,
    postgres: str | None,
    surfaces: tuple[str, ...] = SURFACES,
    *,
    sqlite: bool = True,
    async_commit: bool = False,
    configs: tuple[Config, ...] = CONFIGS,
) -> list[Row]:
    rows: list[Row] = []
    databases: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = []
    if sqlite:
        databases.append(("sqlite", sqlite_database))
    if postgres:
        databases.append(("postgresql", lambda: postgres_database(postgres)))
    if postgres and async_commit:
        name = "postgresql (async commit)"
        databases.append((name, lambda: postgres_database(postgres, async_commit=True)))
    with serve_upstream_process(tokens=32, token_size=5) as upstream:
        for config in configs:
            for backend, database in databases:
                with database() as url:
                    asyncio.run(migrate(url))
                    with emmaus_server(url, upstream, config) as server:
                        rows += asyncio.run(
                            measure(server, upstream, backend, config, turns, surfaces)
                        )
    return rows


def report(rows: list[Row]) -> None:
    table = Table(title="Stored turns: Emmaus vs the same upstream called directly (one run)")
    for column in (
        "surface", "window", "database", "history", "context msgs", "direct p50",
        "emmaus p50", "added p50", "emmaus p90", "added vs 10",
    ):  # fmt: skip
        table.add_column(column, justify="right")
    base: dict[tuple[str, str, str], float] = {}
    for row in rows:
        key = (row.surface, row.config, row.backend)
        base.setdefault(key, row.added)
        ordered = sorted(row.emmaus_ms)
        table.add_row(
            row.surface,
            row.config,
            row.backend,
            f"{row.length:,}",
            str(row.context_messages),
            f"{statistics.median(row.direct_ms):.2f} ms",
            f"{statistics.median(row.emmaus_ms):.2f} ms",
            f"{row.added:.2f} ms",
            f"{ordered[int(0.9 * len(ordered))]:.2f} ms",
            f"{row.added / base[key]:.2f}x",
        )
    Console(width=200).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=200, help="turns per history length")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "EMMAUS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="admin URL of a PostgreSQL server ('' to skip)",
    )
    parser.add_argument("--surfaces", default=",".join(SURFACES), help="v1, responses or both")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--configs", default=",".join(c.name for c in CONFIGS))
    parser.add_argument(
        "--async-commit",
        action="store_true",
        help="also PostgreSQL with synchronous_commit = off (the disk's fsync left out)",
    )
    args = parser.parse_args()
    surfaces = tuple(s for s in args.surfaces.split(",") if s in SURFACES)
    wanted = set(args.configs.split(","))
    rows = run(
        args.turns,
        args.postgres or None,
        surfaces,
        sqlite=not args.no_sqlite,
        async_commit=args.async_commit,
        configs=tuple(c for c in CONFIGS if c.name in wanted),
    )
    report(rows)


if __name__ == "__main__":
    main()
