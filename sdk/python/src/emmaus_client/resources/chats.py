"""`client.chats`: the stateful v1 Chat & Message API, sync and async. Every `send` carries an
`Idempotency-Key` (a new one per call unless you pass yours), reused by its retries, so a retry
never stores a turn twice. Options are v1's: `character_limit`, `sources_limit`, `publishers`,
`enable_suggestions`, `enable_sources`, `intent`, and Emmaus' `tradition`."""

from __future__ import annotations

from typing import Any

from emmaus_client import _requests as build
from emmaus_client._accumulate import MessageAccumulator
from emmaus_client._transport import AsyncTransport, SyncTransport
from emmaus_client.streaming import AsyncStream, Stream
from emmaus_client.types.chats import ChatHistory, ChatPage, MessageDelta, MessageResponse


class Chats:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def send(
        self,
        query: str,
        *,
        chat_id: str | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> MessageResponse:
        """Send one message; no `chat_id` starts a new chat (its id is in the result)."""
        call = build.v1_send(
            query, stream=False, idempotency_key=idempotency_key,
            options={"chat_id": chat_id, **options},
        )  # fmt: skip
        return MessageResponse.from_dict(self._transport.request(call))

    def send_stream(
        self,
        query: str,
        *,
        chat_id: str | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> Stream[MessageDelta, MessageResponse]:
        """Yields `MessageDelta`s, then the final `MessageResponse`."""
        call = build.v1_send(
            query, stream=True, idempotency_key=idempotency_key,
            options={"chat_id": chat_id, **options},
        )  # fmt: skip
        return Stream(lambda: self._transport.stream(call), MessageAccumulator())

    def get(self, chat_id: str, *, tree: bool = False) -> ChatHistory:
        return ChatHistory.from_dict(self._transport.request(build.v1_get(chat_id, tree)))

    def list(self, *, limit: int = 20, cursor: str | None = None) -> ChatPage:
        """This client's chats, newest activity first (Emmaus; Gloo has no list)."""
        return ChatPage.from_dict(self._transport.request(build.v1_list(limit, cursor)))

    def update(self, chat_id: str, field: str, value: Any) -> Any:
        """Set `pin`, `title` or `summary`; returns the stored value."""
        return self._transport.request(build.v1_update(chat_id, field, value)).get("value")

    def create(self, *, title: str | None = None, tradition: str | None = None) -> ChatHistory:
        return ChatHistory.from_dict(self._transport.request(build.v1_create(title, tradition)))

    def delete(self, chat_id: str) -> bool:
        return bool(self._transport.request(build.v1_delete(chat_id)).get("deleted"))

    def delete_message(
        self, *, message_id: str | None = None, query_id: str | None = None
    ) -> list[str]:
        """Delete a message, or a whole exchange by its `query_id`; the ids removed."""
        body = self._transport.request(build.v1_delete_message(message_id, query_id))
        return list(body.get("deleted_message_ids") or [body.get("message_id")])

    def stop(self, message_id: str, *, chat_id: str | None = None) -> bool:
        """Stop a reply still being written (Gloo's v1 stop); False when it had finished."""
        return bool(self._transport.request(build.v1_stop(message_id, chat_id)).get("success"))


class AsyncChats:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def send(
        self,
        query: str,
        *,
        chat_id: str | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> MessageResponse:
        call = build.v1_send(
            query, stream=False, idempotency_key=idempotency_key,
            options={"chat_id": chat_id, **options},
        )  # fmt: skip
        return MessageResponse.from_dict(await self._transport.request(call))

    def send_stream(
        self,
        query: str,
        *,
        chat_id: str | None = None,
        idempotency_key: str | None = None,
        **options: Any,
    ) -> AsyncStream[MessageDelta, MessageResponse]:
        call = build.v1_send(
            query, stream=True, idempotency_key=idempotency_key,
            options={"chat_id": chat_id, **options},
        )  # fmt: skip
        return AsyncStream(lambda: self._transport.stream(call), MessageAccumulator())

    async def get(self, chat_id: str, *, tree: bool = False) -> ChatHistory:
        return ChatHistory.from_dict(await self._transport.request(build.v1_get(chat_id, tree)))

    async def list(self, *, limit: int = 20, cursor: str | None = None) -> ChatPage:
        return ChatPage.from_dict(await self._transport.request(build.v1_list(limit, cursor)))

    async def update(self, chat_id: str, field: str, value: Any) -> Any:
        return (await self._transport.request(build.v1_update(chat_id, field, value))).get("value")

    async def create(
        self, *, title: str | None = None, tradition: str | None = None
    ) -> ChatHistory:
        body = await self._transport.request(build.v1_create(title, tradition))
        return ChatHistory.from_dict(body)

    async def delete(self, chat_id: str) -> bool:
        return bool((await self._transport.request(build.v1_delete(chat_id))).get("deleted"))

    async def delete_message(
        self, *, message_id: str | None = None, query_id: str | None = None
    ) -> list[str]:
        body = await self._transport.request(build.v1_delete_message(message_id, query_id))
        return list(body.get("deleted_message_ids") or [body.get("message_id")])

    async def stop(self, message_id: str, *, chat_id: str | None = None) -> bool:
        body = await self._transport.request(build.v1_stop(message_id, chat_id))
        return bool(body.get("success"))
