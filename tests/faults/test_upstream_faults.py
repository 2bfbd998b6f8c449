"""What a client of Emmaus sees when the upstream model fails, through a live server, JSON and
SSE: a rate-limited upstream is a 503 with its Retry-After, a failing one a 503, a slow one a
408, a refused request a 422, and each carries the contract's error body. (The provider's own
mapping and retries are in tests/engine/providers/openai_compat/test_openai_provider_failures.py;
streams broken midway in tests/api/completions/test_streaming_v2.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.testing import serve_upstream
from tests.support.auth import bearer_headers
from tests.support.live_server import live_server

MODELS = {
    "limited": "fail-429+retryafter-7",
    "failing": "fail-500",
    "slow": "slow-3000",
    "refusing": "fail-400",
}
ENTRY = """
[[models]]
id = "{id}"
family = "openai"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "{script}+tag-faults"
context_window = 32000
capabilities = ["streaming"]
timeout = 0.5
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    data = tmp_path_factory.mktemp("upstream-faults")
    with serve_upstream() as upstream:
        catalog = data / "models.toml"
        catalog.write_text(
            "".join(
                ENTRY.format(id=name, base=upstream.base_url, script=script)
                for name, script in MODELS.items()
            )
        )
        settings = Settings(
            data_dir=data,
            models=catalog,
            database_url=f"sqlite+aiosqlite:///{data / 'emmaus.db'}",
            upstream_retries=0,
        )
        with live_server(create_app(settings)) as url:
            yield url, bearer_headers(url, settings)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    ("model", "status", "retry_after"),
    [("limited", 503, "7"), ("failing", 503, None), ("slow", 408, None), ("refusing", 422, None)],
)
def test_an_upstream_failure_reaches_the_client_as_a_clear_error(
    server: tuple[str, dict[str, str]],
    model: str,
    status: int,
    retry_after: str | None,
    stream: bool,
) -> None:
    url, headers = server
    body = {"model": model, "messages": [{"role": "user", "content": "x"}], "stream": stream}
    response = httpx.post(f"{url}/ai/v2/chat/completions", json=body, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["name"].startswith("PROVIDER") and error["message"]
    assert error["retryable"] is (status != 422)
    assert response.headers.get("retry-after") == retry_after
