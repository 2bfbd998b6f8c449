"""The examples of docs/v1.md (the Chat & Message API) and docs/v2.md (Completions v2) run as
written against a live server with the embedded model (the default catalog of `make run`) and
its first client (the one `emmaus serve` creates and prints)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emmaus.api.app import create_app
from emmaus.auth import bootstrap
from emmaus.config import Settings
from tests.docs.readme import REPO, blocks, json_values, run_block
from tests.support.live_server import live_server

V1 = REPO / "docs" / "v1.md"
V2 = REPO / "docs" / "v2.md"
RUNS = {
    ("v1.md", "With curl"),
    ("v1.md", "With Python (the flow of Gloo's chat tutorial)"),
    ("v2.md", "Other fields"),
    ("v2.md", "The OpenAI SDK"),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("docs-v1-v2"))
    created = bootstrap(settings)
    assert created is not None
    with live_server(create_app(settings)) as url:
        yield url, {"CLIENT_ID": created[0], "CLIENT_SECRET": created[1]}


def _only(title: str, path: Path) -> tuple[str, str]:
    [block] = blocks(title, path)
    return block


def test_the_v1_curl_walk_through(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = server
    out = run_block(*_only("With curl", V1), url, env, tmp_path)
    first, second, history, pinned, renamed, deleted, chats, gone = json_values(out)
    assert first["success"] is True and len(first["message"]) <= 300  # type: ignore[index]
    assert second["chat_id"] == first["chat_id"]  # type: ignore[index]
    assert 'data: {"message"' in out and "data: [DONE]" in out
    roles = [m["role"] for m in history["messages"]]  # type: ignore[index]
    assert roles == ["user", "kallm"] * 3
    assert pinned["value"] is True and renamed["value"] == "Purpose"  # type: ignore[index]
    assert deleted["deleted_message_ids"] == [m["message_id"] for m in history["messages"][:2]]  # type: ignore[index]
    assert first["chat_id"] in [c["chat_id"] for c in chats["chats"]]  # type: ignore[index]
    assert gone == {"deleted": True, "chat_id": first["chat_id"]}  # type: ignore[index]


def test_the_v1_python_flow(server: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = server
    out = run_block(*_only("With Python (the flow of Gloo's chat tutorial)", V1), url, env)
    lines = out.splitlines()
    roles = [line.split()[0] for line in lines if line.split()[:1] in (["user"], ["kallm"])]
    assert roles[:4] == ["user", "kallm", "user", "kallm"]
    success, message_id = lines[-1].split()
    assert success == "True" and message_id.startswith("m")


def test_the_v2_curl_examples(server: tuple[str, dict[str, str]]) -> None:
    url, env = server
    out = run_block(*_only("Other fields", V2), url, env)
    assert "data: [DONE]" in out and '"usage"' in out
    tool_call, route = json_values(out)[-2:]
    [call] = tool_call["choices"][0]["message"]["tool_calls"]  # type: ignore[index]
    assert call["function"]["name"] == "create_growth_plan"
    assert route["routing_mechanism"] == "auto_routing" and route["routing_tier"]  # type: ignore[index]


def test_the_v2_openai_sdk_example(server: tuple[str, dict[str, str]]) -> None:
    url, env = server
    out = run_block(*_only("The OpenAI SDK", V2), url, env).splitlines()
    assert out[-1]  # the routing reason
