"""Logs of a real `emmaus serve`: every line a request causes (its warnings, uvicorn's access
line) names the request's id, as text or, with `EMMAUS_LOG_FORMAT=json`, as JSON lines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from emmaus.config import Settings
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.observability.conftest import CATALOG
from tests.observability.serving import Served, emmaus_serve
from tests.support.auth import create_client, fetch_token


@pytest.fixture(scope="module")
def upstream() -> UpstreamHandle:
    with serve_upstream(tokens=6, token_size=4) as handle:
        yield handle  # type: ignore[misc]


def prepare(tmp_path: Path, upstream: UpstreamHandle) -> dict[str, str]:
    catalog = tmp_path / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    return {"EMMAUS_MODELS": str(catalog), "EMMAUS_UPSTREAM_BACKOFF": "0.01"}


def fall_back(served: Served, tmp_path: Path, request_id: str) -> None:
    """A request that logs a warning of its own (the model it fell back from)."""
    client_id, secret = create_client(Settings(data_dir=tmp_path))
    token = fetch_token(served.base_url, client_id, secret)
    body = {"model_family": "google", "messages": [{"role": "user", "content": "Explain."}]}
    response = httpx.post(
        f"{served.base_url}/ai/v2/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {token}", "x-request-id": request_id},
        timeout=30,
    )
    assert response.status_code == 200 and response.headers["x-request-id"] == request_id


def wait_for(served: Served, needle: str, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while True:
        found = [line for line in served.lines() if needle in line]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_json_lines_carry_the_request_id(tmp_path: Path, upstream: UpstreamHandle) -> None:
    env = {**prepare(tmp_path, upstream), "EMMAUS_LOG_FORMAT": "json"}
    with emmaus_serve(tmp_path, env) as served:
        fall_back(served, tmp_path, "json-trace-1")
        mine = wait_for(served, "json-trace-1", 2)
        entries = [json.loads(line) for line in mine]
        assert {e["logger"] for e in entries} >= {"emmaus.services.completions", "uvicorn.access"}
        assert all(e["request_id"] == "json-trace-1" for e in entries)
        access = next(e for e in entries if e["logger"] == "uvicorn.access")
        assert access["path"] == "/ai/v2/chat/completions" and access["status"] == 200
        warning = next(e for e in entries if e["logger"] == "emmaus.services.completions")
        assert warning["level"] == "warning" and "google-broken" in warning["message"]
        logged = [line for line in served.stderr.read_text().splitlines() if line.startswith("{")]
        assert logged and all(json.loads(line)["request_id"] for line in logged)


def test_text_lines_carry_the_request_id(tmp_path: Path, upstream: UpstreamHandle) -> None:
    with emmaus_serve(tmp_path, prepare(tmp_path, upstream)) as served:
        fall_back(served, tmp_path, "text-trace-1")
        mine = wait_for(served, "[text-trace-1]", 2)
        assert any("falling back" in line for line in mine)
        assert any('"POST /ai/v2/chat/completions HTTP/1.1" 200' in line for line in mine)
        assert not any("json-trace" in line for line in mine)
