"""ConversationService: OpenAI's Conversations API on the chat store, plus branching (siblings of
a turn, switching the active branch, edits and regenerations answered through Responses).

A conversation is a chat: the same rows a v1 client reads with `GET /ai/v1/chat`."""

from __future__ import annotations

from dataclasses import replace

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.types import Chat, StoredMessage
from emmaus.engine.types import Message
from emmaus.errors import InvalidRequest, MessageNotFound
from emmaus.services.responses.run import ResponseRun
from emmaus.services.responses.service import ResponseService
from emmaus.services.responses.types import ResponseRequest


class ConversationService:
    def __init__(self, manager: ConversationManager, responses: ResponseService) -> None:
        self.manager = manager
        self.responses = responses

    async def create(
        self, client_id: str, metadata: dict[str, str] | None, items: list[Message]
    ) -> tuple[Chat, list[StoredMessage]]:
        rows = [self.responses.new_message(m) for m in items]
        return await self.manager.create_conversation(client_id, metadata=metadata, items=rows)

    async def get(self, client_id: str, conversation_id: str) -> Chat:
        return await self.manager.get_chat(client_id, conversation_id)

    async def update(self, client_id: str, conversation_id: str, metadata: dict[str, str]) -> Chat:
        return await self.manager.set_metadata(client_id, conversation_id, metadata)

    async def delete(self, client_id: str, conversation_id: str) -> None:
        await self.manager.delete_chat(client_id, conversation_id)

    async def add_items(
        self, client_id: str, conversation_id: str, items: list[Message]
    ) -> list[StoredMessage]:
        rows = [self.responses.new_message(m) for m in items]
        return await self.manager.append_items(client_id, conversation_id, rows)

    async def active_branch(self, client_id: str, conversation_id: str) -> list[StoredMessage]:
        chat = await self.manager.get_chat(client_id, conversation_id)
        return await self.manager.branch(chat, chat.head_message_id)

    async def item(self, client_id: str, conversation_id: str, message_id: str) -> StoredMessage:
        chat, message = await self.manager.find_message(client_id, message_id)
        if chat.id != conversation_id:
            raise MessageNotFound(f"item {message_id!r} not found")
        return message

    async def delete_item(self, client_id: str, conversation_id: str, message_id: str) -> Chat:
        await self.item(client_id, conversation_id, message_id)
        await self.manager.delete_messages(client_id, message_id=message_id)
        return await self.manager.get_chat(client_id, conversation_id)

    # -- branching -------------------------------------------------------------------------------

    async def siblings(
        self, client_id: str, conversation_id: str, message_id: str
    ) -> tuple[list[StoredMessage], str | None]:
        """The versions of a turn (the messages sharing its parent and role), oldest first, and
        which of them lies on the active branch."""
        found = await self.manager.siblings(client_id, conversation_id, message_id)
        return found.messages, found.active_id

    async def activate(self, client_id: str, conversation_id: str, message_id: str) -> Chat:
        """Make the branch through `message_id` the active one (down to its newest leaf)."""
        return await self.manager.switch_branch(client_id, conversation_id, message_id)

    async def edit(
        self, client_id: str, conversation_id: str, message_id: str, request: ResponseRequest
    ) -> ResponseRun:
        """A new version of a user turn (a sibling with `request.inputs`), answered."""
        original = await self.item(client_id, conversation_id, message_id)
        if original.role != "user":
            raise InvalidRequest(f"item {message_id!r} is not a user message")
        forked = replace(
            request,
            conversation_id=conversation_id,
            parent_item_id=original.parent_id,
            fork=True,
        )
        return await self.responses.begin(client_id, forked)

    async def regenerate(
        self, client_id: str, conversation_id: str, message_id: str, request: ResponseRequest
    ) -> ResponseRun:
        """A new answer beside the reply `message_id` (same question, same query id)."""
        reply = await self.item(client_id, conversation_id, message_id)
        if reply.role != "assistant" or reply.parent_id is None:
            raise InvalidRequest(f"item {message_id!r} is not a reply")
        question = await self.item(client_id, conversation_id, reply.parent_id)
        forked = replace(
            request,
            inputs=[],
            conversation_id=conversation_id,
            parent_item_id=question.id,
            fork=True,
            regenerate_query=reply.query_id,
            question=question.content,
        )
        return await self.responses.begin(client_id, forked)
