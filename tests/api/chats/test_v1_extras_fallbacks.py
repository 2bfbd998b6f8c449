"""v1 suggestions and titles when the model writes junk: a JSON-capable scripted model that
answers every follow-up request with a run of vocabulary words (what a small model gave a new
user: `['furthermore', 'therefore', ...]`). The turn asks twice (the second time under the
strict grammar), rejects both, and shows suggestions made from the retrieved sources' titles,
or none without sources, and a title taken from the question. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from emmaus.services.chats.extras import title_from_query
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

JUNK = "fixed+tokens-12+size-6+tag-junkextras"
JUNK_MODEL = f"""
[[models]]
id = "junk-json"
family = "open source"
tier = 1
priority = -10  # only chosen when JSON is needed: the follow-ups
provider = "openai"
base_url = "{{base}}"
upstream_model = "{JUNK}"
context_window = 8192
max_output_tokens = 256
capabilities = ["json", "streaming"]
"""
PSALM = (
    "Psalm 23\n\n"
    "The Lord is my shepherd; I shall not want. He maketh me to lie down in green pastures: "
    "he leadeth me beside the still waters. He restoreth my soul."
)


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    data = tmp_path_factory.mktemp("v1-extras")
    settings = v1_settings(data, upstream, module_database_url, embedded=False)
    catalog = settings.models
    assert catalog is not None
    catalog.write_text(catalog.read_text() + JUNK_MODEL.format(base=upstream.base_url))
    with v1_server(settings) as running:
        yield running


@pytest.fixture
def http(server: V1Server) -> Iterator[httpx.Client]:
    _, headers = server.new_client()
    with server.client(headers) as client:
        yield client


def junk_calls(upstream: UpstreamHandle) -> int:
    return int(upstream.stats()["requests"].get(JUNK, 0))


def test_junk_follow_ups_give_way_to_the_sources_and_the_question(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    uploaded = http.post(
        "/ai/v2/library/documents",
        files={"file": ("psalm23.txt", PSALM.encode())},
        data={"publisher": "Psalter"},
    )
    assert uploaded.status_code == 201, uploaded.text
    before = junk_calls(upstream)
    question = "What does the shepherd in the psalm mean for my soul?"
    answer = http.post(
        "/ai/v1/message", json={"query": question, "publishers": ["Psalter"], "sources_limit": 1}
    ).json()
    assert answer["success"] is True and answer["sources"], answer
    assert junk_calls(upstream) - before == 2  # asked once, then once more under the grammar
    title = answer["sources"][0]["item_title"]
    assert answer["suggestions"] == [f"What is the context of {title}?"]
    chat = http.get("/ai/v1/chat", params={"chat_id": answer["chat_id"]}).json()
    assert chat["title"] == title_from_query(question) == "Shepherd in psalm mean for my soul"


def test_without_sources_junk_gives_no_suggestions_at_all(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    before = junk_calls(upstream)
    question = "How do I plan a youth group retreat on a small budget?"
    answer = http.post("/ai/v1/message", json={"query": question, "enable_sources": 0}).json()
    assert answer["success"] is True and answer["sources"] == []
    assert answer["suggestions"] == []  # none rather than nonsense
    assert junk_calls(upstream) - before == 2
    chat = http.get("/ai/v1/chat", params={"chat_id": answer["chat_id"]}).json()
    assert chat["title"] == "Plan youth group retreat on small budget"
