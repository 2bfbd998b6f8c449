"""`emmaus serve` as `make run` starts it, for the examples that begin where a new user does: a
subprocess in a fresh directory (its `./data` beside a link to the repository's `.venv`, so the
examples' `.venv/bin/emmaus ...` lines work there and write where the server reads), on a free
loopback port, with no `EMMAUS_*` setting (the embedded defaults). The credentials are what
the `export CLIENT_ID=...` and `export CLIENT_SECRET=...` lines of its first-start banner set
when pasted into a shell."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.docs.readme import link_venv

EXPORT_LINES = re.compile(r"^export (?:CLIENT_ID|CLIENT_SECRET)=.*$", re.M)


def export_lines(text: str) -> str:
    """The `export CLIENT_ID=...` / `CLIENT_SECRET=...` lines of a banner, as pasted."""
    return "\n".join(EXPORT_LINES.findall(text))


@dataclass
class Served:
    url: str
    env: dict[str, str]
    workdir: Path
    output: list[str] = field(default_factory=list)

    def log(self) -> str:
        return "".join(self.output)


def plain_environment() -> dict[str, str]:
    """The test process' environment without Emmaus settings, unbuffered so the banner arrives
    while the server runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMMAUS_")}
    return {**env, "PYTHONUNBUFFERED": "1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ingest_demo(workdir: Path, books: str) -> None:
    """What `make run` does before serving, for a few demo books (the whole selection takes a
    minute)."""
    done = subprocess.run(
        [".venv/bin/emmaus", "ingest", "--demo", "--books", books],
        cwd=link_venv(workdir),
        env=plain_environment(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@contextmanager
def emmaus_serve(workdir: Path, *, startup_timeout: float = 180.0) -> Iterator[Served]:
    link_venv(workdir)
    port = _free_port()
    process = subprocess.Popen(
        [".venv/bin/emmaus", "serve", "--port", str(port), "--no-access-log"],
        cwd=workdir,
        env=plain_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", {}, workdir)
    assert process.stdout is not None
    reader = threading.Thread(target=lambda: served.output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + startup_timeout
        while not _answers(served.url):
            assert process.poll() is None, f"emmaus serve exited:\n{served.log()}"
            assert time.monotonic() < deadline, f"emmaus serve did not start:\n{served.log()}"
            time.sleep(0.25)
        exported = export_lines(served.log())
        assert exported, f"the first-start banner has no export lines:\n{served.log()}"
        served.env = pasted(exported)
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)


def pasted(lines: str) -> dict[str, str]:
    """CLIENT_ID and CLIENT_SECRET as a shell sets them from `lines` (quoting included)."""
    shown = subprocess.run(
        ["bash", "-c", f'{lines}\nprintf "%s\\n%s" "$CLIENT_ID" "$CLIENT_SECRET"'],
        capture_output=True,
        text=True,
        check=True,
        env=plain_environment(),
    ).stdout
    client_id, secret = shown.split("\n")
    assert client_id and secret, lines
    return {"CLIENT_ID": client_id, "CLIENT_SECRET": secret}


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
