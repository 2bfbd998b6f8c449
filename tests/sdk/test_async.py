"""The async SDK against the live Emmaus: the same surfaces, awaited and streamed with
`async for`, concurrent calls sharing one token, and `AsyncEmmaus.openai()`."""

from __future__ import annotations

import asyncio

import pytest

from emmaus_client import AsyncEmmaus, NotFoundError
from emmaus_client.types import (
    ChatCompletion,
    CompletionDelta,
    MessageDelta,
    MessageResponse,
    Response,
)
from tests.sdk.servers import Server

LONG = (
    "Explain how the parables of the lost sheep, the lost coin and the lost son fit together, "
    "and what each one says about joy, searching and coming home again."
)


async def test_completions_and_streams(aclient: AsyncEmmaus) -> None:
    answer = await aclient.completions.create([{"role": "user", "content": LONG}])
    assert answer.content == LONG and answer.routing.routing_mechanism == "auto_routing"
    events = [e async for e in aclient.completions.stream([{"role": "user", "content": LONG}])]
    *deltas, final = events
    assert all(isinstance(d, CompletionDelta) for d in deltas)
    assert isinstance(final, ChatCompletion) and final.content == LONG
    assert "".join(d.content or "" for d in deltas) == LONG


async def test_chats_and_responses(aclient: AsyncEmmaus) -> None:
    first = await aclient.chats.send("Who wrote the Gospel of Mark?", enable_suggestions=0)
    events = [
        e
        async for e in aclient.chats.send_stream(
            "Where was the apostle Paul born?", chat_id=first.chat_id, enable_suggestions=0
        )
    ]
    assert isinstance(events[-1], MessageResponse) and events[-1].chat_id == first.chat_id
    assert all(isinstance(e, MessageDelta) for e in events[:-1])
    history = await aclient.chats.get(first.chat_id)
    assert [m.role for m in history.messages] == ["user", "kallm", "user", "kallm"]

    stream = aclient.responses.stream("Say something about patience.", max_output_tokens=40)
    final = await stream.until_done()
    assert isinstance(final, Response) and final.output_text == "Say something about patience."
    assert (await aclient.responses.retrieve(final.id)).id == final.id
    assert await aclient.chats.delete(first.chat_id)
    with pytest.raises(NotFoundError):
        await aclient.chats.get(first.chat_id)


async def test_concurrent_calls_share_one_token(server: Server) -> None:
    async with AsyncEmmaus(
        server.base_url, client_id=server.client_id, client_secret=server.client_secret
    ) as sdk:
        questions = [f"Who was the prophet number {n} in the list?" for n in range(6)]
        answers = await asyncio.gather(
            *(sdk.completions.create([{"role": "user", "content": q}]) for q in questions)
        )
        assert [a.content for a in answers] == questions
        assert sdk.tokens.renewals == 1  # single flight: one token for all six


async def test_async_openai(aclient: AsyncEmmaus) -> None:
    openai_client = aclient.openai()
    answer = await openai_client.chat.completions.create(
        model="echo-mid", messages=[{"role": "user", "content": "What is mercy?"}]
    )
    assert answer.choices[0].message.content == "What is mercy?"
    assert answer.model == "echo-mid"
