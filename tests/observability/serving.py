"""`emmaus serve` as a real process for these tests: the CLI's own set-up (log configuration,
workers, the shared metrics directory) is what they check."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

EMMAUS = str(Path(sys.executable).parent / "emmaus")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    base_url: str
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def lines(self) -> list[str]:
        return [*self.stdout.read_text().splitlines(), *self.stderr.read_text().splitlines()]


@contextmanager
def emmaus_serve(data: Path, env: dict[str, str], *args: str) -> Iterator[Served]:
    """`emmaus serve` on a free port with `env` (and `EMMAUS_DATA_DIR=data`); stopped with
    SIGTERM, as a service manager would, when the block ends."""
    port = free_port()
    out, err = data / "stdout.log", data / "stderr.log"
    full = {**os.environ, "EMMAUS_DATA_DIR": str(data), "EMMAUS_LOG_LEVEL": "info", **env}
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            [EMMAUS, "serve", "--port", str(port), *args], env=full, stdout=stdout, stderr=stderr
        )
    served = Served(f"http://127.0.0.1:{port}", process, out, err)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{served.base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, f"emmaus serve exited: {err.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "emmaus serve did not start"
            time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
