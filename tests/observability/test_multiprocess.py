"""`emmaus serve --workers 2`: `/metrics` is the whole server's, whichever worker answers the
scrape (Prometheus' multiprocess mode over a directory the server sets up and removes), and
the usage ledger gets every call from both workers."""

from __future__ import annotations

import glob
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.observability.conftest import CATALOG, ask
from tests.observability.scrape import value
from tests.observability.serving import emmaus_serve, free_port
from tests.support.auth import create_client, fetch_token

CALLS = 60
ROUTE = {"route": "/ai/v2/chat/completions", "status": "200"}


@pytest.fixture(scope="module")
def upstream() -> UpstreamHandle:
    with serve_upstream(tokens=6, token_size=4) as handle:
        yield handle  # type: ignore[misc]


def environment(tmp_path: Path, upstream: UpstreamHandle) -> dict[str, str]:
    catalog = tmp_path / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    return {"EMMAUS_MODELS": str(catalog), "EMMAUS_USAGE_FLUSH_INTERVAL": "0.1"}


def complete_many(base_url: str, headers: dict[str, str]) -> None:
    """CALLS completions, 8 at a time, each on a new connection (so both workers take some)."""

    def one(_: int) -> int:
        body = ask("priced")
        with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
            return http.post("/ai/v2/chat/completions", json=body).status_code

    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(one, range(CALLS))) == [200] * CALLS


def per_worker(directory: Path) -> list[float]:
    """Completions counted in each worker's own file."""
    counts = []
    for path in glob.glob(str(directory / "counter_*.db")):
        merged = MultiProcessCollector.merge([path], accumulate=False)
        counts.append(
            sum(
                s.value
                for family in merged
                for s in family.samples
                if s.name == "emmaus_requests_total" and ROUTE.items() <= s.labels.items()
            )
        )
    return counts


def test_two_workers_one_truth(tmp_path: Path, upstream: UpstreamHandle) -> None:
    directory = tmp_path / "metrics"
    env = {**environment(tmp_path, upstream), "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    client_id, secret = create_client(Settings(data_dir=tmp_path), scopes="api/access admin")
    with emmaus_serve(tmp_path, env, "--workers", "2", "--no-access-log") as served:
        token = fetch_token(served.base_url, client_id, secret, scope="api/access admin")
        headers = {"Authorization": f"Bearer {token}"}
        # The port answers once one worker is up; the other may still be starting (on a busy
        # machine one worker can take a whole batch), so send batches until both have served.
        sent, deadline = 0, time.monotonic() + 60
        while True:
            complete_many(served.base_url, headers)
            sent += CALLS
            counts = per_worker(directory)
            if len([c for c in counts if c]) == 2 or time.monotonic() > deadline:
                break
        assert sum(counts) == sent
        assert len([c for c in counts if c]) == 2, f"one worker took every call: {counts}"
        for _ in range(6):  # new connections: scrapes land on either worker, and agree
            scrape = httpx.get(f"{served.base_url}/metrics", headers=headers).text
            assert value(scrape, "emmaus_requests_total", **ROUTE) == sent
            assert value(scrape, "emmaus_model_calls_total", model="priced", status="ok") == sent
            assert value(scrape, "emmaus_streams_in_flight") == 0
        deadline = time.monotonic() + 10
        while True:  # each worker's ledger writes its own calls
            usage = httpx.get(f"{served.base_url}/platform/v2/usage", headers=headers).json()
            if usage["total"]["requests"] == sent or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert usage["total"]["requests"] == sent
    assert directory.is_dir()  # the operator's directory is kept


def test_a_separate_metrics_address_and_cleanup(tmp_path: Path, upstream: UpstreamHandle) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    port = free_port()
    env = {
        **environment(tmp_path, upstream),
        "TMPDIR": str(temporary),  # where the server makes its metrics directory
        "EMMAUS_METRICS_LISTEN": f"127.0.0.1:{port}",
    }
    client_id, secret = create_client(Settings(data_dir=tmp_path))
    with emmaus_serve(tmp_path, env, "--workers", "2", "--no-access-log") as served:
        headers = {"Authorization": f"Bearer {fetch_token(served.base_url, client_id, secret)}"}
        complete_many(served.base_url, headers)
        assert list(temporary.glob("emmaus-metrics-*"))
        scrape = httpx.get(f"http://127.0.0.1:{port}/metrics").text  # no token: its own address
        assert value(scrape, "emmaus_requests_total", **ROUTE) == CALLS
        assert httpx.get(f"{served.base_url}/metrics").status_code == 404  # not on the API port
    assert not list(temporary.glob("emmaus-metrics-*"))  # removed when the server stopped
