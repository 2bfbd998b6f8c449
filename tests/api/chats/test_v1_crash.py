"""A server killed (SIGKILL) in the middle of a v1 turn, then restarted on the same database:
the user's message is there, the unfinished reply is not shown as an answer, the chat goes on.
SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import FAILED, PENDING
from emmaus.store import Database
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import v1_settings
from tests.support.auth import create_client, fetch_token
from tests.support.module_databases import module_database_url  # noqa: F401

HANGS = "Hello, tell me something nice."  # tier 1: the upstream never answers
ANSWERS = "Explain why the sky is blue."  # tier 2: the echo model
QUIET = {"enable_suggestions": 0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def emmaus_process(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "emmaus.api.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env={**os.environ, **env})
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server exited at start"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)
        yield process, base_url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_a_turn_interrupted_by_sigkill(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path: Path,
) -> None:
    settings = v1_settings(tmp_path, upstream, module_database_url, fast="hang")
    env = {
        "EMMAUS_DATA_DIR": str(tmp_path),
        "EMMAUS_MODELS": str(settings.models),
        "EMMAUS_DATABASE_URL": module_database_url,
        "EMMAUS_UPSTREAM_RETRIES": "0",
        "EMMAUS_CHAT_TITLES": "false",
    }
    client_id, secret = create_client(settings)
    with emmaus_process(env) as (first, base_url):
        headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
        http = httpx.Client(base_url=base_url, headers=headers, timeout=30)
        chat_id = http.post("/ai/v1/chat", json={"title": "crash"}).json()["chat_id"]
        outcome: list[object] = []

        def hanging_send() -> None:
            try:
                body = {"query": HANGS, "chat_id": chat_id, **QUIET}
                outcome.append(
                    httpx.post(f"{base_url}/ai/v1/message", json=body, headers=headers, timeout=60)
                )
            except httpx.TransportError as exc:
                outcome.append(exc)

        sender = threading.Thread(target=hanging_send)
        sender.start()
        deadline = time.monotonic() + 20
        while not http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]:
            assert time.monotonic() < deadline, "the user turn was never stored"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        sender.join(timeout=10)
        assert isinstance(outcome[0], httpx.TransportError)  # the caller saw the server die
        http.close()

    with emmaus_process(env) as (_, base_url):
        headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            messages = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
            assert [(m["role"], m["message"]) for m in messages] == [("user", HANGS)]
            after = http.post(
                "/ai/v1/message", json={"query": ANSWERS, "chat_id": chat_id, **QUIET}
            )
            assert after.status_code == 200 and after.json()["message"] == ANSWERS
            messages = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
            assert [m["message"] for m in messages] == [HANGS, ANSWERS, ANSWERS]

    async def stored() -> list[tuple[str, str]]:
        db = Database(module_database_url)
        try:
            rows = await ConversationManager(db).all_messages(client_id, chat_id)
            later = await ConversationManager(db, stale_after=0).all_messages(client_id, chat_id)
            assert later[1].status == FAILED  # once stale, it reads (and is swept) as failed
            return [(m.role, m.status) for m in rows]
        finally:
            await db.aclose()

    done = "complete"
    assert asyncio.run(stored()) == [
        ("user", done), ("assistant", PENDING), ("user", done), ("assistant", done)
    ]  # fmt: skip
