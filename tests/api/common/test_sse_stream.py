"""CoalescingStreamingResponse: chunks ready together leave in one body message, a chunk that
comes later leaves on its own, the end of the body rides on the last write, and a response
torn down early closes its body iterator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.requests import ClientDisconnect

from emmaus.api.common.sse import CoalescingStreamingResponse

SCOPE = {"type": "http", "asgi": {"spec_version": "2.4"}, "method": "GET"}


async def _never_disconnects() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {}


async def test_ready_chunks_leave_together_and_late_ones_alone() -> None:
    async def events() -> AsyncIterator[bytes]:
        yield b"a"  # the opening and the first piece leave together, before more is produced
        yield b"b"
        yield b"c"
        yield b"d"
        yield b"e"
        await asyncio.sleep(0.01)
        yield b"f"

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await CoalescingStreamingResponse(events())(SCOPE, _never_disconnects, send)
    bodies = [(m["body"], m["more_body"]) for m in sent if m["type"] == "http.response.body"]
    assert bodies == [(b"ab", True), (b"cde", True), (b"f", False)]


async def test_an_abandoned_response_closes_its_iterator() -> None:
    closed = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            await asyncio.sleep(60)
            yield b"never"
        finally:
            closed.set()

    async def send(message: dict[str, Any]) -> None:
        if message.get("body") == b"first":
            raise OSError("the client went away")

    with pytest.raises(ClientDisconnect):  # Starlette's word for the OSError
        await CoalescingStreamingResponse(events())(SCOPE, _never_disconnects, send)
    assert closed.is_set()


async def test_the_opening_leaves_alone_while_the_answer_is_awaited() -> None:
    async def events() -> AsyncIterator[bytes]:
        yield b"opening"
        await asyncio.sleep(0.01)  # the model has not said anything yet
        yield b"first"
        yield b"rest"

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await CoalescingStreamingResponse(events())(SCOPE, _never_disconnects, send)
    bodies = [m["body"] for m in sent if m["type"] == "http.response.body"]
    assert bodies == [b"opening", b"first", b"rest"]


async def test_a_client_leaving_on_an_older_asgi_server_stops_the_stream() -> None:
    """Before ASGI spec 2.4 a send to a client that left does not fail: the response watches
    `receive` for http.disconnect, stops relaying and closes its iterator."""
    closed = asyncio.Event()
    left = asyncio.Event()

    async def events() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            yield b"second"
            left.set()
            await asyncio.sleep(60)
            yield b"never"
        finally:
            closed.set()

    async def receive() -> dict[str, Any]:
        await left.wait()
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    old = {**SCOPE, "asgi": {"spec_version": "2.3"}}
    await asyncio.wait_for(CoalescingStreamingResponse(events())(old, receive, send), 5)
    assert closed.is_set()
    assert b"never" not in b"".join(m.get("body", b"") for m in sent)
