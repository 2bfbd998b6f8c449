"""Several `emmaus serve` processes on one database and one Redis, as a deployment runs them:
the same settings (catalog, `EMMAUS_JWT_SECRET`, database, Redis) and a data directory each,
started together, ready when each one's `/readyz` says so."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.observability.serving import EMMAUS, free_port


@dataclass
class Instance:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def _wait_ready(instances: list[Instance], within: float) -> None:
    deadline = time.monotonic() + within
    waiting = list(instances)
    while waiting:
        for instance in list(waiting):
            assert instance.process.poll() is None, f"{instance.name} exited: {instance.tail()}"
            try:
                if httpx.get(f"{instance.url}/readyz", timeout=2).status_code == 200:
                    waiting.remove(instance)
            except httpx.TransportError:
                pass
        assert time.monotonic() < deadline, f"not ready: {[i.name for i in waiting]}"
        time.sleep(0.1)


def _stop(instance: Instance) -> None:
    if instance.process.poll() is None:
        instance.process.terminate()
        try:
            instance.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            instance.process.kill()
            instance.process.wait()


@contextmanager
def cluster(folder: Path, env: dict[str, str], count: int) -> Iterator[list[Instance]]:
    """`count` instances of `emmaus serve`, each with its own data directory under `folder`;
    SIGTERM to each (as systemd stops a unit) when the block ends."""
    instances = []
    with ExitStack() as stack:
        for number in range(1, count + 1):
            name = f"emmaus-{number}"
            data = folder / name
            data.mkdir()
            port = free_port()
            log = data / "serve.log"
            out = stack.enter_context(log.open("wb"))
            full = {**os.environ, **env, "EMMAUS_DATA_DIR": str(data)}
            process = subprocess.Popen(
                [EMMAUS, "serve", "--port", str(port), "--no-access-log"],
                env=full,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            instances.append(Instance(name, port, process, log))
        try:
            _wait_ready(instances, within=120)
            yield instances
        finally:
            for instance in instances:
                _stop(instance)
