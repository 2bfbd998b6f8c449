"""`POST /ai/v1/responses/{id}/cancel` sent to one instance stops a response another instance is
streaming, on one PostgreSQL: through Redis pub/sub, and without Redis through the flag on the
reply's row. The text streamed so far is kept; the stream ends with `response.incomplete`."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import authenticate, v1_server
from tests.api.responses.support import responses_settings

# Heartbeats far apart: what stops the response is the stop path, never a lease taking over.
CHAT = ChatSettings(titles=False, heartbeat_interval=30, lease_timeout=120)


@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "row-flag"])
def test_cancel_reaches_the_instance_running_the_response(
    with_redis: bool,
    request: pytest.FixtureRequest,
    postgres_url: str,
    upstream: UpstreamHandle,
    tmp_path: Path,
) -> None:
    settings = responses_settings(tmp_path, upstream, postgres_url)
    if with_redis:
        settings = settings.model_copy(
            update={
                "redis_url": request.getfixturevalue("redis_url"),
                "redis_prefix": request.getfixturevalue("redis_prefix"),
            }
        )
    with v1_server(settings, CHAT) as runner, v1_server(settings, CHAT) as canceller:
        _, _, headers = authenticate(runner.base_url, settings)  # one client, both instances
        seen: dict[str, object] = {"deltas": 0}
        ended = threading.Event()

        def stream() -> None:
            body = {"model": "drip", "input": "go", "stream": True}
            with (
                httpx.Client(base_url=runner.base_url, headers=headers, timeout=60) as http,
                http.stream("POST", "/ai/v1/responses", json=body) as streamed,
            ):
                for line in streamed.iter_lines():
                    if not line.startswith("data: "):
                        continue
                    event = orjson.loads(line[6:])
                    if event["type"] == "response.created":
                        seen["id"] = event["response"]["id"]
                    elif event["type"] == "response.output_text.delta":
                        seen["deltas"] = int(seen["deltas"]) + 1  # type: ignore[call-overload]
                    elif event["type"].startswith("response.") and "response" in event:
                        seen["ending"] = event["type"]
                        seen["final"] = event["response"]
            ended.set()

        reader = threading.Thread(target=stream)
        reader.start()
        deadline = time.monotonic() + 20
        while not seen["deltas"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen["deltas"], "the stream never started"
        with httpx.Client(base_url=canceller.base_url, headers=headers, timeout=60) as http:
            cancelled = http.post(f"/ai/v1/responses/{seen['id']}/cancel")
            assert cancelled.status_code == 200, cancelled.text
            assert ended.wait(20)
            assert seen["ending"] == "response.incomplete"
            final = seen["final"]
            assert isinstance(final, dict) and final["status"] == "cancelled"
            stored = http.get(f"/ai/v1/responses/{seen['id']}").json()
            assert stored["status"] == "cancelled"
        reader.join()
