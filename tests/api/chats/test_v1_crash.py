"""A server killed (SIGKILL) in the middle of v1 turns, then restarted on the same database:
the user's messages are there, the unfinished replies are settled as soon as the dead instance's
lease runs out (`partial` with the text already streamed, `failed` when there was none), a retry
with the same Idempotency-Key gets that settled result, and the chat goes on. SQLite and
PostgreSQL."""

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
from emmaus.conversations.schema import FAILED, PARTIAL
from emmaus.store import Database
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import v1_settings
from tests.support.auth import create_client, fetch_token
from tests.support.module_databases import module_database_url  # noqa: F401

HANGS = "Hi! Good morning."  # tier 1: the upstream never answers
ANSWERS = "What should I pack for a weekend camping trip?"  # tier 2: the echo model
DRIPS = "drip-150+tokens-400"  # tier 1 in the second test: a long, slow stream
QUIET = {"enable_suggestions": 0}
FAST_LEASES = {  # a dead instance is known dead after 2 s without a heartbeat
    "EMMAUS_UPSTREAM_RETRIES": "0",
    "EMMAUS_CHAT_TITLES": "false",
    "EMMAUS_CHAT_LEASE_TIMEOUT": "2",
    "EMMAUS_CHAT_HEARTBEAT_INTERVAL": "0.5",
    "EMMAUS_CHAT_PARTIAL_SAVE_INTERVAL": "0.2",
}


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
        **FAST_LEASES,
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
            messages = settled_history(http, chat_id, 2)
            assert [(m["role"], m["message"]) for m in messages] == [("user", HANGS), ("kallm", "")]
            assert messages[1]["success"] is False  # nothing was written: a failed reply
            after = http.post(
                "/ai/v1/message", json={"query": ANSWERS, "chat_id": chat_id, **QUIET}
            )
            assert after.status_code == 200 and after.json()["message"] == ANSWERS
            messages = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
            assert [m["message"] for m in messages] == [HANGS, "", ANSWERS, ANSWERS]

    async def stored() -> list[tuple[str, str]]:
        db = Database(module_database_url)
        try:
            rows = await ConversationManager(db).all_messages(client_id, chat_id)
            return [(m.role, m.status) for m in rows]
        finally:
            await db.aclose()

    done = "complete"
    assert asyncio.run(stored()) == [
        ("user", done), ("assistant", FAILED), ("user", done), ("assistant", done)
    ]  # fmt: skip


def settled_history(http: httpx.Client, chat_id: str, count: int, within: float = 15) -> list:
    """The chat's history once `count` messages show (pending replies are not shown)."""
    deadline = time.monotonic() + within
    while True:
        messages = http.get("/ai/v1/chat", params={"chat_id": chat_id}).json()["messages"]
        if len(messages) >= count:
            return messages
        assert time.monotonic() < deadline, f"still unsettled after {within} s: {messages}"
        time.sleep(0.1)


def test_streams_killed_midway_are_settled_with_their_text(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path: Path,
) -> None:
    settings = v1_settings(tmp_path, upstream, module_database_url, fast=DRIPS)
    env = {
        "EMMAUS_DATA_DIR": str(tmp_path),
        "EMMAUS_MODELS": str(settings.models),
        "EMMAUS_DATABASE_URL": module_database_url,
        **FAST_LEASES,
    }
    client_id, secret = create_client(settings)
    keys = [f"crash-{n}" for n in range(8)]
    with emmaus_process(env) as (first, base_url):
        headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
        received: dict[str, str] = {}

        def stream(key: str) -> None:
            body = {"query": HANGS, "stream": True, **QUIET}
            try:
                with httpx.stream(
                    "POST", f"{base_url}/ai/v1/message", json=body,
                    headers={**headers, "Idempotency-Key": key}, timeout=60,
                ) as response:  # fmt: skip
                    for line in response.iter_lines():
                        if line.startswith("data: {"):
                            received[key] = received.get(key, "") + line
            except httpx.TransportError:
                pass  # the server died under it

        threads = [threading.Thread(target=stream, args=(key,)) for key in keys]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(received) < len(keys):  # every stream has sent some text
            assert time.monotonic() < deadline, "the streams did not start"
            time.sleep(0.05)
        time.sleep(0.6)  # past a partial save
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed = time.monotonic()
        for thread in threads:
            thread.join(timeout=10)

    with emmaus_process(env) as (_, base_url):
        headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            chats = http.get("/ai/v1/chats", params={"limit": 20}).json()["chats"]
            assert len(chats) == len(keys)
            for chat in chats:
                user, reply = settled_history(http, chat["chat_id"], 2)
                assert user["message"] == HANGS and reply["success"] is False
                assert reply["message"]  # the text streamed before the crash was kept
            settled_after = time.monotonic() - killed
            retried = http.post(
                "/ai/v1/message",
                json={"query": HANGS, "stream": True, **QUIET},
                headers={"Idempotency-Key": keys[0]},
            )
            assert retried.status_code == 200  # the settled result, not a 409
            assert len(http.get("/ai/v1/chats").json()["chats"]) == len(keys)  # nothing new
    print(f"\nreplies of a killed instance settled {settled_after:.1f} s after SIGKILL")

    async def statuses() -> set[str]:
        db = Database(module_database_url)
        try:
            manager = ConversationManager(db)
            found = set()
            for chat in chats:
                rows = await manager.all_messages(client_id, chat["chat_id"])
                found |= {m.status for m in rows if m.role == "assistant"}
            return found
        finally:
            await db.aclose()

    assert asyncio.run(statuses()) == {PARTIAL}
