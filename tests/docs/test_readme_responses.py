"""The README's "Responses and conversations" and "Branching" examples run as written against
a live server with the embedded model (the default catalog of `make run`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from tests.docs.readme import blocks, json_values, run_block
from tests.support.auth import create_client
from tests.support.live_server import live_server

RUNS = {("README.md", "Responses and conversations"), ("README.md", "Branching")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("readme-responses"))
    with live_server(create_app(settings)) as url:
        client_id, secret = create_client(settings)
        yield url, {"CLIENT_ID": client_id, "CLIENT_SECRET": secret}


def test_the_curl_examples(server: tuple[str, dict[str, str]]) -> None:
    url, env = server
    [(language, code)] = [b for b in blocks("Responses and conversations") if b[0] == "sh"]
    out = run_block(language, code, url, env)
    bodies: list = json_values(out)
    first = bodies[0]
    assert first["object"] == "response" and first["status"] in ("completed", "incomplete")
    assert first["routing_mechanism"] == "auto_routing"
    items = bodies[2]
    assert [item["role"] for item in items["data"]] == ["user", "assistant"]
    chat = bodies[3]
    assert [m["role"] for m in chat["messages"]] == ["user", "kallm"]
    assert "event: response.completed" in out or "event: response.incomplete" in out


def test_the_sdk_example(server: tuple[str, dict[str, str]]) -> None:
    url, env = server
    [(language, code)] = [b for b in blocks("Responses and conversations") if b[0] == "python"]
    out = run_block(language, code, url, env).splitlines()
    assert out[1].split()[1] == "none"  # the safety verdict of an ordinary question
    assert out[2] == "['message', 'message', 'message']"  # question, answer, follow-up
    assert out[-1] == "['user', 'assistant']"


def test_the_branching_walk_through(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = server
    [(language, code)] = blocks("Branching")
    out = run_block(language, code, url, env, cwd=tmp_path)
    bodies: list = json_values(out)
    siblings = next(b for b in bodies if "count" in b and "siblings" in b)
    assert siblings["count"] == 2 and siblings["position"] == 1
    stop = bodies[-1]
    assert stop["task"] == "stop" and "success" in stop
