"""`emmaus serve` stopped with SIGTERM (as systemd, Kubernetes or an upgrade stops it) while it
streams: it stops accepting connections at once, lets running streams finish for up to
`EMMAUS_SHUTDOWN_TIMEOUT` seconds, then cuts what is left and settles it: a v1 reply is stored
`partial` with the text streamed so far, never left pending, and a cut v2 call's usage row is
written before the process exits."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from emmaus.config import Settings
from emmaus.conversations.schema import COMPLETE, PARTIAL, MessageRow
from emmaus.store import Database
from emmaus.testing import UpstreamHandle, serve_upstream
from emmaus.usage.schema import UsageRow
from tests.deployment.load import LONG, Stream, stream_turn
from tests.deployment.load import Seen as Recorded
from tests.observability.serving import Served, emmaus_serve
from tests.support.auth import create_client, fetch_token
from tests.support.databases import run_blocking

CATALOG = """
[[models]]
id = "echo-{tier}"
family = "open source"
tier = {tier}
provider = "openai"
base_url = "{base}"
upstream_model = "echo+drip-{drip}+tag-shutdown-{drip}"
context_window = 32000
capabilities = ["streaming"]
"""
# uvicorn re-raises the signal once it has shut down, so the exit status says "stopped by
# SIGTERM", which systemd counts as a clean stop.
STOPPED = (0, -signal.SIGTERM)


@pytest.fixture(scope="module")
def upstream() -> UpstreamHandle:
    with serve_upstream(tokens=40, token_size=12) as handle:
        yield handle  # type: ignore[misc]


def environment(tmp_path: Path, upstream: UpstreamHandle, drip: int, timeout: float):
    catalog = tmp_path / "models.toml"
    catalog.write_text(
        "".join(CATALOG.format(tier=t, base=upstream.base_url, drip=drip) for t in (1, 2, 3))
    )
    return {
        "EMMAUS_MODELS": str(catalog),
        "EMMAUS_SHUTDOWN_TIMEOUT": str(timeout),
        "EMMAUS_SAFETY_STREAM_HOLD": "48",  # text flows early: a cut stream has some
        "EMMAUS_CHAT_TITLES": "false",
        "EMMAUS_CHAT_PARTIAL_SAVE_INTERVAL": "0.1",
        "EMMAUS_UPSTREAM_RETRIES": "0",
    }


def start_stream(served: Served, headers: dict[str, str]) -> tuple[Recorded, threading.Thread]:
    """A v1 streamed turn in a thread; returns once it has delivered some text."""
    seen = Recorded()

    def run() -> None:
        with httpx.Client(base_url=served.base_url, headers=headers, timeout=60) as http:
            chat_id = http.post("/ai/v1/chat", json={"title": "shutdown"}).json()["chat_id"]
            with contextlib.suppress(httpx.TransportError):  # cut: what came is in seen
                stream_turn(http, chat_id, f"Tell me: {LONG}", seen)

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 30
    while not (seen.streams and seen.streams[0].deltas):
        assert thread.is_alive() and time.monotonic() < deadline, "the stream never started"
        time.sleep(0.01)
    return seen, thread


def refuses_connections(port: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        except ConnectionRefusedError:
            return True
        time.sleep(0.02)
    return False


def stored_reply(data: Path, stream: Stream) -> MessageRow:
    async def read() -> MessageRow:
        db = Database.from_settings(Settings(data_dir=data))
        try:
            async with db.session() as session:
                return await session.get_one(MessageRow, stream.ids["x-emmaus-message-id"])
        finally:
            await db.aclose()

    return run_blocking(read())


def test_a_running_stream_finishes_after_sigterm(tmp_path: Path, upstream: UpstreamHandle) -> None:
    client = create_client(Settings(data_dir=tmp_path))
    env = environment(tmp_path, upstream, drip=30, timeout=20)  # a ~1.5 s stream
    with emmaus_serve(tmp_path, env, "--no-access-log") as served:
        headers = {"Authorization": f"Bearer {fetch_token(served.base_url, *client)}"}
        seen, thread = start_stream(served, headers)
        served.process.send_signal(signal.SIGTERM)
        port = int(served.base_url.rsplit(":", 1)[1])
        assert refuses_connections(port, within=2), "still accepting after SIGTERM"
        thread.join(timeout=30)
        assert served.process.wait(timeout=30) in STOPPED
    stream = seen.streams[0]
    assert stream.done and stream.final is not None  # it finished, though the server stopped
    reply = stored_reply(tmp_path, stream)
    assert reply.status == COMPLETE and reply.content == stream.final["message"]


def test_a_stream_past_the_timeout_is_cut_and_settled(
    tmp_path: Path, upstream: UpstreamHandle
) -> None:
    client = create_client(Settings(data_dir=tmp_path))
    env = environment(tmp_path, upstream, drip=150, timeout=1)  # a ~7 s stream, 1 s to finish
    with emmaus_serve(tmp_path, env, "--no-access-log") as served:
        headers = {"Authorization": f"Bearer {fetch_token(served.base_url, *client)}"}
        v2_body = {
            "model": "echo-2",
            "stream": True,
            "messages": [{"role": "user", "content": LONG}],
        }
        v2 = httpx.Client(base_url=served.base_url, headers=headers, timeout=60)
        v2_stream = v2.stream("POST", "/ai/v2/chat/completions", json=v2_body).__enter__()
        assert v2_stream.status_code == 200
        seen, thread = start_stream(served, headers)
        stopped_at = time.monotonic()
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=20) in STOPPED
        took = time.monotonic() - stopped_at
        thread.join(timeout=10)
        v2.close()
    stream = seen.streams[0]
    assert not stream.done and stream.final is None  # cut
    assert took < 7, f"shutdown took {took:.1f} s: the stream was not cut"
    reply = stored_reply(tmp_path, stream)
    assert reply.status == PARTIAL and reply.content  # settled with the text so far
    assert f"Tell me: {LONG}".startswith(reply.content)

    async def usage_rows() -> list[UsageRow]:
        db = Database.from_settings(Settings(data_dir=tmp_path))
        try:
            async with db.session() as session:
                return list((await session.execute(select(UsageRow))).scalars())
        finally:
            await db.aclose()

    rows = run_blocking(usage_rows())
    v2_rows = [r for r in rows if r.route == "/ai/v2/chat/completions"]
    assert [r.status for r in v2_rows] == ["cancelled"]  # written at shutdown
    assert any(r.route == "/ai/v1/message" for r in rows)
