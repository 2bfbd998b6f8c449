"""`/healthz`, `/readyz` (and the old `/health`) on the real app: ready when the database answers
and a model can be reached; a 503 naming what is not ready otherwise."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from tests.observability.conftest import Ops
from tests.support.databases import _pg_admin, run_blocking
from tests.support.live_server import live_server

ONE_UPSTREAM = """
[[models]]
id = "away"
family = "open source"
tier = 1
provider = "openai"
base_url = "http://127.0.0.1:{port}/v1"
context_window = 32000
"""


def test_healthz_and_health(http: httpx.Client) -> None:
    assert http.get("/healthz").json()["status"] == "ok"
    assert http.get("/health").json()["status"] == "ok"


def test_ready_with_every_upstream_reachable(ops: Ops, http: httpx.Client) -> None:
    response = http.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"] == {"ok": True, "required": True, "detail": None}
    assert {"model:priced", "model:google-ok", "model:flaky-once"} <= set(body["checks"])
    assert ops.upstream.base_url not in response.text  # model ids, never addresses


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def serve(tmp_path: Path, catalog: str, **settings: object) -> Iterator[str]:
    (tmp_path / "models.toml").write_text(catalog)
    config = Settings(data_dir=tmp_path, models=tmp_path / "models.toml", **settings)  # type: ignore[arg-type]
    with live_server(create_app(config)) as url:
        yield url


def test_not_ready_when_no_model_can_be_reached(tmp_path: Path) -> None:
    for url in serve(tmp_path, ONE_UPSTREAM.format(port=closed_port())):
        response = httpx.get(f"{url}/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["model:away"]["ok"] is False
        assert body["checks"]["model:away"]["detail"]
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive all the same


class Relay:
    """A TCP relay to `target` that can be cut: Redis "goes away" without touching the real one."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.closed:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a: socket.socket, b: socket.socket) -> None:
        try:
            while data := a.recv(65536):
                b.sendall(data)
        except OSError:
            pass

    def cut(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self.listener.close()
        for sock in self.open:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def wait_for_503(url: str) -> httpx.Response:
    for _ in range(60):  # past the seconds a report is cached
        response = httpx.get(f"{url}/readyz")
        if response.status_code == 503:
            return response
        time.sleep(0.1)
    return response


@pytest.fixture
def reachable() -> Iterator[str]:
    """A catalog whose one upstream accepts connections (so models are not what fails)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield ONE_UPSTREAM.format(port=listener.getsockname()[1])


def test_not_ready_when_redis_goes_away(
    tmp_path: Path, redis_url: str, redis_prefix: str, reachable: str
) -> None:
    parts = urlsplit(redis_url)
    relay = Relay(parts.hostname or "127.0.0.1", parts.port or 6379)
    catalog = reachable
    relayed = f"redis://127.0.0.1:{relay.port}{parts.path}"
    for url in serve(tmp_path, catalog, redis_url=relayed, redis_prefix=redis_prefix):
        assert httpx.get(f"{url}/readyz").json()["checks"]["redis"]["ok"] is True
        relay.cut()
        body = wait_for_503(url).json()
        assert body["checks"]["redis"]["ok"] is False
        assert body["status"] == "not_ready"


def test_not_ready_when_the_database_goes_away(
    tmp_path: Path, postgres_url: str, redis_url: str, redis_prefix: str, reachable: str
) -> None:
    """PostgreSQL and Redis both checked; the database dropped under the running server."""
    for url in serve(
        tmp_path, reachable, database_url=postgres_url, redis_url=redis_url,
        redis_prefix=redis_prefix,
    ):  # fmt: skip
        ready = httpx.get(f"{url}/readyz").json()
        assert ready["status"] == "ready", ready
        assert ready["checks"]["redis"]["ok"] is True
        name = postgres_url.rsplit("/", 1)[1]
        run_blocking(_pg_admin(f'DROP DATABASE "{name}" WITH (FORCE)'))
        response = wait_for_503(url)
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["ok"] is False


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMMAUS_TEST_UPSTREAM_KEY", "unused")
