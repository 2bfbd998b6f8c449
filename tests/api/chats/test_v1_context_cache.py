"""The optional Redis context cache switched on in a live server (SQLite and PostgreSQL): turns
read their context from Redis, and a deletion is never served stale."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from emmaus.conversations.settings import ChatSettings
from emmaus.testing import UpstreamHandle
from tests.api.chats.v1_support import V1Server, upstream_name, v1_server, v1_settings
from tests.support.module_databases import module_database_url  # noqa: F401

QUIET = {"enable_suggestions": 0}


@pytest.fixture(scope="module")
def server(
    module_database_url: str,  # noqa: F811
    upstream: UpstreamHandle,
    redis_server: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[V1Server]:
    settings = v1_settings(tmp_path_factory.mktemp("v1-cache"), upstream, module_database_url)
    prefix = f"emmaus-test:{tmp_path_factory.getbasetemp().name}:cache:"
    settings = settings.model_copy(update={"redis_url": redis_server, "redis_prefix": prefix})
    with v1_server(settings, ChatSettings(titles=False, context_cache=True)) as running:
        yield running
    client = redis.Redis.from_url(redis_server)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_turns_hit_the_cache_and_deletes_invalidate(
    server: V1Server, upstream: UpstreamHandle
) -> None:
    cache = server.app.state.system.chat.manager.cache
    assert cache is not None
    with server.client() as http:
        first = http.post("/ai/v1/message", json={"query": "one", **QUIET}).json()
        chat_id = first["chat_id"]
        hits = cache.hits
        for text in ("two", "three"):
            body = {"query": text, "chat_id": chat_id, **QUIET}
            assert http.post("/ai/v1/message", json=body).status_code == 200
        assert cache.hits == hits + 2
        sent = upstream.last_request(upstream_name(1))["body"]["messages"]  # type: ignore[index]
        assert [m["content"] for m in sent[1:]] == ["one", "one", "two", "two", "three"]

        http.delete("/ai/v1/message", params={"query_id": first["query_id"]})
        body = {"query": "four", "chat_id": chat_id, **QUIET}
        assert http.post("/ai/v1/message", json=body).status_code == 200
        sent = upstream.last_request(upstream_name(1))["body"]["messages"]  # type: ignore[index]
        assert [m["content"] for m in sent[1:]] == ["two", "two", "three", "three", "four"]
