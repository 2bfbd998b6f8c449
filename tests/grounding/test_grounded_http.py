"""Grounded completions and the library API over HTTP: uvicorn on loopback in front of the
scripted upstream, on SQLite and PostgreSQL. The `echo` upstream answers with the user's last
message, so a question that carries markers such as [1] and [7] shows citation validation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

from emmaus.config import Settings
from emmaus.grounding import Embedder
from emmaus.grounding.citations import SOURCES_NOTE
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.auth.apps import create_client
from tests.grounding.apps import get_token, grounded_app
from tests.grounding.documents import BIKE_HTML, BREAD, GARDEN, STARS, pdf_bytes
from tests.support.databases import _pg_admin, run_blocking
from tests.support.live_server import live_server

URL = "/ai/v2/chat/completions/grounded"
CATALOG = """
[[models]]
id = "echo"
family = "openai"
tier = 1
provider = "openai"
vendor = "openai"
base_url = "{base}"
upstream_model = "echo"
context_window = 32000
capabilities = ["streaming", "tools"]
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_for_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('grounded') / 'emmaus.db'}"
        return
    server: str = request.getfixturevalue("postgres_server")
    name = f"emmaus_test_{uuid.uuid4().hex[:16]}"
    run_blocking(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        run_blocking(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def server(
    database_for_server: str,
    upstream: UpstreamHandle,
    embedder: Embedder,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, Settings]]:
    data = tmp_path_factory.mktemp("grounded-data")
    catalog = data / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    settings = Settings(
        data_dir=data,
        models=catalog,
        database_url=database_for_server,
        jwt_secret="grounded-tests-secret-of-at-least-32-chars",
        upstream_retries=0,
    )
    with live_server(grounded_app(settings, embedder)) as url:
        yield url, settings


def _client(server: tuple[str, Settings], name: str) -> httpx.Client:
    url, settings = server
    client_id, secret = create_client(settings, name)
    token = get_token(url, client_id, secret)
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.fixture(scope="module")
def alice(server: tuple[str, Settings]) -> Iterator[httpx.Client]:
    with _client(server, "alice") as client:
        for name, data in {
            "garden.txt": GARDEN.encode(),
            "bread.md": BREAD.encode(),
            "stars.pdf": pdf_bytes(STARS, "Looking at stars"),
        }.items():
            response = client.post(
                "/ai/v2/library/documents",
                files={"file": (name, data)},
                data={"publisher": "Home", "url": f"https://example.org/{name}"},
            )
            assert response.status_code == 201, response.text
        yield client


@pytest.fixture(scope="module")
def bob(server: tuple[str, Settings]) -> Iterator[httpx.Client]:
    with _client(server, "bob") as client:
        yield client


def ask(text: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "model": "echo", **fields}


def test_grounded_answer_with_validated_citations(
    alice: httpx.Client, upstream: UpstreamHandle
) -> None:
    question = "How often should tomatoes be watered? [1] [7]"
    response = alice.post(URL, json=ask(question, rag_publisher="Home", include_citations=True))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "echo"
    assert body["routing_mechanism"] == "direct_model_selection"
    assert body["sources_returned"] is True
    citations = body["citations"]
    assert 1 <= len(citations) <= 3
    first = citations[0]
    assert first["index"] == 1
    assert first["item_title"] == "garden"
    assert first["item_url"] == "https://example.org/garden.txt"
    assert first["publisher"] == "Home"
    assert any("six hours of sun" in s for s in first["snippets"])
    assert first["chunk_ids"] and all(isinstance(i, int) for i in first["chunk_ids"])
    assert first["cited"] is True
    # The invented marker [7] (no seventh source) is removed; [1] stays.
    answer = body["choices"][0]["message"]["content"]
    assert "[1]" in answer and "[7]" not in answer

    sent = upstream.last_request("echo")
    assert sent is not None
    messages = sent["body"]["messages"]
    assert "numbered sources" in messages[0]["content"]  # our instructions: the system message
    reference = messages[-2]["content"]  # the documents: data in a delimited block, not system
    assert messages[-2]["role"] == "user" and reference.startswith(SOURCES_NOTE)
    assert "[1] garden" in reference and "six hours of sun" in reference
    assert "six hours of sun" not in messages[0]["content"]
    assert body["usage"]["prompt_tokens"] > 50  # the context is part of the prompt


def test_no_evidence_means_no_sources(alice: httpx.Client, upstream: UpstreamHandle) -> None:
    question = "What were the quarterly revenue figures of the steel industry?"
    body = alice.post(URL, json=ask(question, rag_publisher="Home", include_citations=True)).json()
    assert body["sources_returned"] is False
    assert body["citations"] == []
    sent = upstream.last_request("echo")
    assert sent is not None
    assert "No passage in the library matched" in sent["body"]["messages"][0]["content"]


def test_citations_only_on_request_and_sources_limit(alice: httpx.Client) -> None:
    body = alice.post(URL, json=ask("watering tomatoes", rag_publisher="Home")).json()
    assert body["sources_returned"] is True
    assert "citations" not in body
    body = alice.post(
        URL,
        json=ask(
            "tomatoes, sourdough starter and telescopes",
            rag_publisher="Home",
            include_citations=True,
            sources_limit=1,
        ),
    ).json()
    assert sum(len(c["chunk_ids"]) for c in body["citations"]) == 1


def test_other_clients_content_is_invisible(alice: httpx.Client, bob: httpx.Client) -> None:
    body = bob.post(
        URL,
        json=ask(
            "How often should tomatoes be watered?", rag_publisher="Home", include_citations=True
        ),
    ).json()
    assert body["sources_returned"] is False and body["citations"] == []
    assert bob.get("/ai/v2/library/documents").json()["data"] == []
    (doc, *_) = alice.get("/ai/v2/library/documents").json()["data"]
    assert bob.delete(f"/ai/v2/library/documents/{doc['document_id']}").status_code == 404


def test_streaming_sends_citations_first(alice: httpx.Client) -> None:
    payload = ask(
        "How do I feed a sourdough starter? [1] [7]",
        rag_publisher="Home",
        include_citations=True,
        stream=True,
    )
    with alice.stream("POST", URL, json=payload) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    first = orjson.loads(events[0])
    assert first["choices"] == []
    assert first["sources_returned"] is True
    assert first["citations"][0]["item_title"] == "Baking sourdough bread"
    chunks = [orjson.loads(e) for e in events[1:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "How do I feed a sourdough starter? [1] "  # [7] names no source
    assert not any("citations" in c for c in chunks)
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_defaults_and_invalid_input(alice: httpx.Client, upstream: UpstreamHandle) -> None:
    body = alice.post(URL, json={"model": "echo"}).json()  # messages omitted
    assert body["choices"][0]["message"]["content"] == "Hello world!"
    assert body["sources_returned"] is False  # nothing in GlooGrounded for this client
    empty = alice.post(URL, json={"model": "echo", "messages": []})
    assert empty.status_code == 400
    for bad in ({"sources_limit": 0}, {"sources_limit": 11}, {"rag_publisher": ""}):
        assert alice.post(URL, json=ask("hi", **bad)).status_code == 422
    assert alice.post(URL, json={"messages": [{"role": "user", "content": "x"}]}).status_code == 422
    assert httpx.post(alice.base_url.join(URL), json=ask("hi")).status_code == 401


def test_library_api_upload_list_delete(alice: httpx.Client) -> None:
    upload = alice.post(
        "/ai/v2/library/documents",
        files={"file": ("bike.html", BIKE_HTML.encode(), "text/html")},
        data={"publisher": "Repairs"},
    )
    assert upload.status_code == 201, upload.text
    doc = upload.json()["document"]
    assert doc["title"] == "Fixing a bicycle puncture" and doc["kind"] == "html"
    again = alice.post(
        "/ai/v2/library/documents",
        files={"file": ("bike.html", BIKE_HTML.encode(), "text/html")},
        data={"publisher": "Repairs"},
    )
    assert again.status_code == 200 and again.json()["status"] == "unchanged"
    listed = alice.get("/ai/v2/library/documents", params={"publisher": "Repairs"}).json()["data"]
    assert [d["document_id"] for d in listed] == [doc["document_id"]]
    names = {p["name"] for p in alice.get("/ai/v2/library/publishers").json()["data"]}
    assert {"Home", "Repairs"} <= names

    found = alice.post(URL, json=ask("fix a punctured tyre", rag_publisher="Repairs")).json()
    assert found["sources_returned"] is True
    assert alice.delete(f"/ai/v2/library/documents/{doc['document_id']}").status_code == 204
    gone = alice.post(URL, json=ask("fix a punctured tyre", rag_publisher="Repairs")).json()
    assert gone["sources_returned"] is False

    bad = alice.post(
        "/ai/v2/library/documents",
        files={"file": ("photo.png", b"\x89PNG", "image/png")},
        data={"publisher": "Repairs"},
    )
    assert bad.status_code == 422
    link = alice.post(
        "/ai/v2/library/documents",
        files={"file": ("a.txt", b"Some text here.")},
        data={"publisher": "Repairs", "url": "file:///etc/passwd"},
    )
    assert link.status_code == 422


def test_v1_message_sources_follow_publishers_and_come_back_in_history(
    alice: httpx.Client,
) -> None:
    body = {
        "query": "How often should tomatoes be watered?",
        "publishers": ["Home"],
        "sources_limit": 2,
        "enable_suggestions": 0,
    }
    response = alice.post("/ai/v1/message", json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["sources_limit"] == 2
    assert 1 <= len(reply["sources"]) <= 2
    first = reply["sources"][0]
    assert set(first) == {"item_id", "item_title", "publisher", "url", "snippet", "score"}
    assert first["item_title"] == "garden" and first["publisher"] == "Home"
    assert first["url"] == "https://example.org/garden.txt"
    assert "six hours of sun" in first["snippet"]
    assert 0.3 <= first["score"] <= 1

    history = alice.get("/ai/v1/chat", params={"chat_id": reply["chat_id"]}).json()
    stored = [m for m in history["messages"] if m["role"] == "kallm"]
    assert stored[-1]["sources"] == reply["sources"]

    off = alice.post("/ai/v1/message", json={**body, "enable_sources": 0}).json()
    assert off["sources"] == []
    unrelated = alice.post(
        "/ai/v1/message", json={**body, "query": "steel industry revenue figures"}
    ).json()
    assert unrelated["sources"] == []
    elsewhere = alice.post("/ai/v1/message", json={**body, "publishers": ["Nobody"]}).json()
    assert elsewhere["sources"] == []
