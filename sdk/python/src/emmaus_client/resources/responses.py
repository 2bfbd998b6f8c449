"""`client.responses` and `client.conversations`: OpenAI's Responses and Conversations APIs at
`/ai/v1` (Gloo's recommended surface for new work), sync and async. Gloo's routing fields
(`auto_routing`, `model_family`) and `tradition` are keywords like any other field."""

from __future__ import annotations

from typing import Any

from emmaus_client import _requests as build
from emmaus_client._accumulate import ResponseAccumulator
from emmaus_client._transport import AsyncTransport, SyncTransport
from emmaus_client.streaming import AsyncStream, Stream
from emmaus_client.types.responses import (
    ConversationObject,
    ItemPage,
    Response,
    ResponseTextDelta,
)


class Responses:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(self, input: Any, **options: Any) -> Response:
        call = build.response_create(input, stream=False, options=options)
        return Response.from_dict(self._transport.request(call))

    def stream(self, input: Any, **options: Any) -> Stream[ResponseTextDelta, Response]:
        """Yields `ResponseTextDelta`s, then the final `Response`."""
        call = build.response_create(input, stream=True, options=options)
        return Stream(lambda: self._transport.stream(call), ResponseAccumulator())

    def retrieve(self, response_id: str) -> Response:
        return Response.from_dict(self._transport.request(build.response_get(response_id)))

    def delete(self, response_id: str) -> bool:
        return bool(self._transport.request(build.response_delete(response_id)).get("deleted"))

    def input_items(self, response_id: str, *, limit: int = 20, order: str = "asc") -> ItemPage:
        call = build.response_input_items(response_id, limit, order)
        return ItemPage.from_dict(self._transport.request(call))

    def cancel(self, response_id: str) -> Response:
        return Response.from_dict(self._transport.request(build.response_cancel(response_id)))


class Conversations:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(
        self, *, metadata: dict[str, str] | None = None, items: list[Any] | None = None
    ) -> ConversationObject:
        call = build.conversation_create(metadata, items)
        return ConversationObject.from_dict(self._transport.request(call))

    def retrieve(self, conversation_id: str) -> ConversationObject:
        call = build.conversation_get(conversation_id)
        return ConversationObject.from_dict(self._transport.request(call))

    def update(self, conversation_id: str, *, metadata: dict[str, str]) -> ConversationObject:
        call = build.conversation_update(conversation_id, metadata)
        return ConversationObject.from_dict(self._transport.request(call))

    def delete(self, conversation_id: str) -> bool:
        call = build.conversation_delete(conversation_id)
        return bool(self._transport.request(call).get("deleted"))

    def items(
        self,
        conversation_id: str,
        *,
        limit: int = 20,
        order: str = "asc",
        after: str | None = None,
    ) -> ItemPage:
        call = build.conversation_items(conversation_id, limit, order, after)
        return ItemPage.from_dict(self._transport.request(call))

    def add_items(self, conversation_id: str, items: list[Any]) -> ItemPage:
        call = build.conversation_add_items(conversation_id, items)
        return ItemPage.from_dict(self._transport.request(call))


class AsyncResponses:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(self, input: Any, **options: Any) -> Response:
        call = build.response_create(input, stream=False, options=options)
        return Response.from_dict(await self._transport.request(call))

    def stream(self, input: Any, **options: Any) -> AsyncStream[ResponseTextDelta, Response]:
        call = build.response_create(input, stream=True, options=options)
        return AsyncStream(lambda: self._transport.stream(call), ResponseAccumulator())

    async def retrieve(self, response_id: str) -> Response:
        return Response.from_dict(await self._transport.request(build.response_get(response_id)))

    async def delete(self, response_id: str) -> bool:
        body = await self._transport.request(build.response_delete(response_id))
        return bool(body.get("deleted"))

    async def input_items(
        self, response_id: str, *, limit: int = 20, order: str = "asc"
    ) -> ItemPage:
        call = build.response_input_items(response_id, limit, order)
        return ItemPage.from_dict(await self._transport.request(call))

    async def cancel(self, response_id: str) -> Response:
        body = await self._transport.request(build.response_cancel(response_id))
        return Response.from_dict(body)


class AsyncConversations:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(
        self, *, metadata: dict[str, str] | None = None, items: list[Any] | None = None
    ) -> ConversationObject:
        call = build.conversation_create(metadata, items)
        return ConversationObject.from_dict(await self._transport.request(call))

    async def retrieve(self, conversation_id: str) -> ConversationObject:
        call = build.conversation_get(conversation_id)
        return ConversationObject.from_dict(await self._transport.request(call))

    async def update(self, conversation_id: str, *, metadata: dict[str, str]) -> ConversationObject:
        call = build.conversation_update(conversation_id, metadata)
        return ConversationObject.from_dict(await self._transport.request(call))

    async def delete(self, conversation_id: str) -> bool:
        call = build.conversation_delete(conversation_id)
        return bool((await self._transport.request(call)).get("deleted"))

    async def items(
        self,
        conversation_id: str,
        *,
        limit: int = 20,
        order: str = "asc",
        after: str | None = None,
    ) -> ItemPage:
        call = build.conversation_items(conversation_id, limit, order, after)
        return ItemPage.from_dict(await self._transport.request(call))

    async def add_items(self, conversation_id: str, items: list[Any]) -> ItemPage:
        call = build.conversation_add_items(conversation_id, items)
        return ItemPage.from_dict(await self._transport.request(call))
