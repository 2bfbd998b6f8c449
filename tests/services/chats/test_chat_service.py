"""ChatService, TurnRun and CompletionService without HTTP: the turn's states (complete, partial,
failed, replayed, cancelled) on the real store (SQLite and PostgreSQL) and a real scripted
upstream on loopback. The HTTP tests cover the same paths through the routes; these pin the
service layer's own contract."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from emmaus.catalog import Catalog
from emmaus.config import Settings
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.engine.providers.openai_compat.provider import OpenAIProvider
from emmaus.engine.router import Router, RoutingRequest
from emmaus.engine.types import GenerationParams, Message
from emmaus.errors import ChatNotFound, IdempotencyKeyReused, InvalidRequest, ProviderError
from emmaus.services.chats.service import ChatService
from emmaus.services.chats.types import SendOptions, TextDelta, TurnFailed, TurnResult
from emmaus.services.completions import CompletionRequest, CompletionService
from emmaus.store import Database
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.support.upstream import openai_spec, unique

# No suggestions or titles: each turn is exactly one model call.
NO_EXTRAS = ChatSettings(titles=False, summaries=False)


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=8, token_size=4) as handle:
        yield handle


@pytest.fixture
async def provider() -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(Settings(upstream_backoff=0.01, upstream_retries=0))
    try:
        yield provider
    finally:
        await provider.aclose()


def service_for(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, script: str
) -> ChatService:
    """A ChatService whose only model answers by `script` (see `emmaus.testing`)."""
    catalog = Catalog([openai_spec(upstream.base_url, unique(script), tier=2)])
    completions = CompletionService(Router(catalog), {"openai": provider})
    manager = ConversationManager(db)
    counter = TokenCounter({"openai": provider}, catalog)
    return ChatService(manager, completions, counter, settings=NO_EXTRAS)


def ask(query: str, **options: object) -> SendOptions:
    return SendOptions(query=query, enable_suggestions=0, **options)  # type: ignore[arg-type]


async def test_complete_turn_stores_both_sides(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str
) -> None:
    service = service_for(db, provider, upstream, "echo")
    result = await service.send(alice, ask("Who wrote Romans?"))
    assert result.success and result.status == COMPLETE
    assert result.message == "Who wrote Romans?"
    assert result.usage is not None and result.usage.completion_tokens > 0
    chat, messages = await service.get_chat(alice, result.chat_id)
    assert [(m.role, m.status) for m in messages] == [("user", COMPLETE), ("assistant", COMPLETE)]
    assert messages[1].model == result.model and chat.title  # the fallback title
    await service.aclose()


async def test_failed_turn_keeps_the_question(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str
) -> None:
    service = service_for(db, provider, upstream, "fail-500")
    with pytest.raises(TurnFailed) as failed:
        await service.send(alice, ask("Are you there?"))
    assert failed.value.status == 503 and failed.value.chat_id  # upstream 5xx: unavailable
    _, messages = await service.get_chat(alice, failed.value.chat_id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[0].content == "Are you there?" and messages[1].status == FAILED
    assert messages[1].error is not None and messages[1].error["status"] == 503
    await service.aclose()


async def test_stream_broken_midway_is_partial(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str
) -> None:
    service = service_for(db, provider, upstream, "echo+disconnect")
    events = [e async for e in await service.send_stream(alice, ask("a long question " * 4))]
    final = events[-1]
    assert isinstance(final, TurnResult) and not final.success and final.status == PARTIAL
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert streamed and final.message == streamed  # what reached the client is what is stored
    _, messages = await service.get_chat(alice, final.chat_id)
    assert messages[-1].status == PARTIAL and messages[-1].content == streamed
    await service.aclose()


async def test_retry_with_the_same_key_is_replayed(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str
) -> None:
    service = service_for(db, provider, upstream, "echo")
    first = await service.send(alice, ask("Once only", idempotency_key="k-1"))
    again = await service.send(alice, ask("Once only", idempotency_key="k-1"))
    assert again.replayed and not first.replayed
    assert (again.chat_id, again.message_id, again.message) == (
        first.chat_id,
        first.message_id,
        first.message,
    )
    _, messages = await service.get_chat(alice, first.chat_id)
    assert len(messages) == 2  # nothing written twice
    with pytest.raises(IdempotencyKeyReused):
        await service.send(alice, ask("Something else", idempotency_key="k-1"))
    await service.aclose()


async def test_concurrent_retries_share_one_turn(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str
) -> None:
    service = service_for(db, provider, upstream, "echo+slow-200")
    first, second = await asyncio.gather(
        service.send(alice, ask("Racing", idempotency_key="k-race")),
        service.send(alice, ask("Racing", idempotency_key="k-race")),
    )
    assert first.message_id == second.message_id and (first.replayed or second.replayed)
    await service.aclose()


async def test_closing_the_stream_cancels_and_keeps_the_text(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str
) -> None:
    service = service_for(db, provider, upstream, "echo+drip-100")
    events = await service.send_stream(alice, ask("stop me after the first piece please"))
    first = await anext(aiter(events))
    assert isinstance(first, TextDelta) and first.text
    await events.aclose()  # type: ignore[attr-defined]  # the client hangs up
    await service.aclose()  # the turn settles its reply in the background
    chats = await service.list_chats(alice)
    _, messages = await service.get_chat(alice, chats.chats[0].id)
    reply = messages[-1]
    assert reply.status == PARTIAL and reply.content.startswith(first.text)
    assert reply.error is not None and reply.error["name"] == "CLIENT_DISCONNECTED"


async def test_bad_requests_write_nothing(
    db: Database, provider: OpenAIProvider, upstream: UpstreamHandle, alice: str, bob: str
) -> None:
    service = service_for(db, provider, upstream, "echo")
    with pytest.raises(InvalidRequest, match="tradition"):
        await service.send(alice, ask("Hi", tradition="jedi"))
    mine = await service.send(alice, ask("Mine"))
    with pytest.raises(ChatNotFound):  # another client's chat does not exist for bob
        await service.send(bob, ask("Yours?", chat_id=mine.chat_id))
    assert (await service.list_chats(bob)).chats == []
    assert len((await service.list_chats(alice)).chats) == 1
    await service.aclose()


async def test_completion_service_falls_back_within_the_tier(
    provider: OpenAIProvider, upstream: UpstreamHandle
) -> None:
    broken = openai_spec(upstream.base_url, unique("fail-503"), id="broken", tier=2, priority=1)
    working = openai_spec(upstream.base_url, unique("echo"), id="working", tier=2)
    service = CompletionService(Router(Catalog([broken, working])), {"openai": provider})
    request = CompletionRequest(
        [Message("user", "hello")], RoutingRequest(auto_routing=True), GenerationParams()
    )
    served, completion = await service.complete(request)
    assert served.model.id == "working" and served.fallbacks_used == 1
    assert "fell back to working" in served.reason and completion.content == "hello"
    direct = CompletionRequest(
        [Message("user", "hello")], RoutingRequest(model="broken"), GenerationParams()
    )
    with pytest.raises(ProviderError):  # a direct choice never changes model
        await service.complete(direct)
