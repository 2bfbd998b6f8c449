"""Start the scripted upstream on a free loopback port: in a background thread (tests) or in a
subprocess (benchmarks, so it never shares a GIL with the program measured)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from emmaus.testing.scripted_upstream import ScriptedUpstream, bind_socket, uvicorn_config


@dataclass(frozen=True, slots=True)
class UpstreamHandle:
    """A running scripted upstream. `base_url` is what a catalog entry's `base_url` takes."""

    root_url: str  # http://127.0.0.1:PORT

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/v1"

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.root_url}/_stats", timeout=5).json()

    async def astats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as client:
            return (await client.get(f"{self.root_url}/_stats")).json()

    def last_request(self, model: str) -> dict[str, Any] | None:
        """`{"body": <the JSON request>, "authorization": <header or None>}` or None."""
        return httpx.get(f"{self.root_url}/_last", params={"model": model}, timeout=5).json()

    def reset(self) -> None:
        httpx.post(f"{self.root_url}/_reset", timeout=5).raise_for_status()

    async def wait_cancelled(self, model: str, *, count: int = 1, within: float = 1.0) -> bool:
        """True once the upstream has seen `count` clients of `model` go away. Async on
        purpose: a client's socket closes on its event loop, which must keep running."""
        deadline = time.monotonic() + within
        while True:
            if (await self.astats())["cancelled"].get(model, 0) >= count:
                return True
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.02)


@contextmanager
def serve_upstream(*, tokens: int = 16, token_size: int = 6) -> Iterator[UpstreamHandle]:
    """The scripted upstream in a daemon thread with its own uvloop event loop."""
    import uvicorn

    sock = bind_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(ScriptedUpstream(tokens=tokens, token_size=token_size)))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="scripted-upstream", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the scripted upstream did not start")
        time.sleep(0.005)
    try:
        yield UpstreamHandle(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextmanager
def serve_upstream_process(
    *, tokens: int = 16, token_size: int = 6, port: int = 0
) -> Iterator[UpstreamHandle]:
    """The scripted upstream as `python -m emmaus.testing.scripted_upstream` in a subprocess."""
    command = [
        sys.executable,
        "-m",
        "emmaus.testing.scripted_upstream",
        "--port",
        str(port),
        "--tokens",
        str(tokens),
        "--token-size",
        str(token_size),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the child prints its URL once it listens
        if "listening on " not in line:
            raise RuntimeError(f"the scripted upstream did not start: {line!r}")
        base_url = line.rsplit(" ", 1)[1].strip()
        yield UpstreamHandle(base_url.removesuffix("/v1"))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
