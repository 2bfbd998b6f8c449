"""ChatService's branching and stop without HTTP, on the real store (SQLite and PostgreSQL) and a
scripted upstream: edits and regenerations run the same turn as a new message, the model gets
the active branch only, and a stop ends a turn whether or not its stream has opened. The HTTP
tests (tests/api/chats/test_v1_branching.py, test_v1_stop.py) cover the routes."""

from __future__ import annotations

import asyncio

import pytest

from emmaus.conversations.schema import FAILED, PARTIAL, PENDING
from emmaus.engine.providers.openai_compat.provider import OpenAIProvider
from emmaus.errors import InvalidChatOperation, MessageNotFound
from emmaus.services.chats.service import ChatService
from emmaus.services.chats.types import SendOptions, TextDelta, TurnResult
from emmaus.store import Database
from emmaus.testing import UpstreamHandle
from tests.services.chats.test_chat_service import (  # noqa: F401
    ask,
    provider,
    service_for,
    upstream,
)


async def pending_reply_id(service: ChatService, client: str, within: float = 5.0) -> str:
    """The reply `client`'s only chat is writing, once its turn runs."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        chats = (await service.list_chats(client)).chats
        if chats:
            tree = await service.get_tree(client, chats[0].id)
            pending = [m for m in tree.messages if m.status == PENDING]
            if pending and service.stops.is_running(pending[-1].id):
                return pending[-1].id
        assert asyncio.get_running_loop().time() < deadline, "no turn started"
        await asyncio.sleep(0.01)


async def test_edit_and_regenerate_answer_from_the_active_branch(
    db: Database,
    provider: OpenAIProvider,  # noqa: F811
    upstream: UpstreamHandle,  # noqa: F811
    alice: str,
) -> None:
    service = service_for(db, provider, upstream, "echo")
    first = await service.send(alice, ask("one"))
    second = await service.send(alice, ask("two", chat_id=first.chat_id))
    edited = await service.edit_turn(
        alice, first.chat_id, second.user_message_id, SendOptions(query="three")
    )
    assert edited.message == "three" and edited.user_message_id != second.user_message_id
    _, branch = await service.get_chat(alice, first.chat_id)
    assert [m.content for m in branch] == ["one", "one", "three", "three"]
    again = await service.regenerate(alice, first.chat_id, edited.message_id, SendOptions(""))
    assert again.user_message_id == edited.user_message_id and again.message == "three"
    siblings = await service.siblings(alice, first.chat_id, again.message_id)
    assert [m.id for m in siblings.messages] == [edited.message_id, again.message_id]
    assert siblings.active_id == again.message_id and siblings.position == 2
    chat, branch = await service.switch_branch(alice, first.chat_id, second.user_message_id)
    assert chat.head_message_id == second.message_id
    assert [m.content for m in branch] == ["one", "one", "two", "two"]
    with pytest.raises(InvalidChatOperation):
        await service.edit_turn(alice, first.chat_id, second.message_id, SendOptions("x"))
    with pytest.raises(InvalidChatOperation):
        await service.regenerate(alice, first.chat_id, second.user_message_id, SendOptions(""))
    with pytest.raises(MessageNotFound):
        await service.siblings(alice, first.chat_id, "m-none")
    assert len((await service.get_tree(alice, first.chat_id)).messages) == 7  # nothing more
    await service.aclose()


async def test_a_stop_before_the_stream_opens_answers_the_stream(
    db: Database,
    provider: OpenAIProvider,  # noqa: F811
    upstream: UpstreamHandle,  # noqa: F811
    alice: str,
) -> None:
    service = service_for(db, provider, upstream, "echo+slow-3000")
    opening = asyncio.ensure_future(service.send_stream(alice, ask("wait for it", stream=True)))
    reply_id = await pending_reply_id(service, alice)
    outcome = await service.stop(alice, reply_id)
    assert (outcome.stopped, outcome.reply_id, outcome.status) == (True, reply_id, FAILED)
    stream = await opening
    assert stream.message_id == reply_id
    events = [event async for event in stream]
    assert len(events) == 1 and isinstance(events[0], TurnResult)
    assert events[0].error is not None and events[0].error["name"] == "REPLY_STOPPED"
    await service.aclose()


async def test_a_stop_mid_stream_keeps_the_text(
    db: Database,
    provider: OpenAIProvider,  # noqa: F811
    upstream: UpstreamHandle,  # noqa: F811
    alice: str,
) -> None:
    service = service_for(db, provider, upstream, "drip-50+tokens-400")
    stream = await service.send_stream(alice, ask("write a lot", stream=True))
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    outcome = await service.stop(alice, stream.query_id)  # the exchange's query id
    assert outcome.stopped and outcome.status == PARTIAL
    rest = [event async for event in stream]
    final = rest[-1]
    assert isinstance(final, TurnResult) and final.status == PARTIAL and not final.success
    text = first.text + "".join(e.text for e in rest if isinstance(e, TextDelta))
    assert final.message == text and 0 < len(text) < 400 * 4
    assert (await service.stop(alice, stream.message_id)).stopped is False  # already settled
    await service.aclose()
