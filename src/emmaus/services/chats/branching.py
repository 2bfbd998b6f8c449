"""Branching on ChatService: edit a user turn, regenerate a reply, list a turn's siblings,
switch the active branch, read the whole tree. A mixin of `ChatService`.

```python
result = await service.edit_turn(client_id, chat_id, user_message_id, SendOptions(query="new"))
result = await service.regenerate(client_id, chat_id, reply_id, SendOptions(query=""))
stream = await service.regenerate_stream(client_id, chat_id, reply_id, options)  # TurnStream
siblings = await service.siblings(client_id, chat_id, message_id)
chat, branch = await service.switch_branch(client_id, chat_id, message_id)
```

Edits and regenerations are new siblings in the tree, answered by the same `TurnRun` as a new
message (sources, routing, context, safety, storage, stopping), with the context built from the
new branch only. Settings not given are those the original question was sent with.
"""

from __future__ import annotations

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import Chat, ChatTree, NewMessage, Siblings, StoredMessage
from emmaus.engine.traditions import check_tradition
from emmaus.errors import InvalidChatOperation
from emmaus.services.chats.prepare import TurnKit, route_turn
from emmaus.services.chats.running import TurnStream, drive, drive_stream
from emmaus.services.chats.turn import TurnRun
from emmaus.services.chats.types import SendOptions, TurnResult


class BranchingOps:
    manager: ConversationManager
    counter: TokenCounter
    kit: TurnKit

    async def edit_turn(
        self, client_id: str, chat_id: str, message_id: str, options: SendOptions
    ) -> TurnResult:
        """A new user turn beside `message_id` with `options.query` as its text, answered; the
        new branch becomes the active one (the old one stays in the tree). Raises `TurnFailed`
        when the model fails (the new turn stays stored), like `send`."""
        return await drive(await self._edit(client_id, chat_id, message_id, options))

    async def edit_turn_stream(
        self, client_id: str, chat_id: str, message_id: str, options: SendOptions
    ) -> TurnStream:
        """`edit_turn`, streamed as `ChatService.send_stream` streams."""
        run = await self._edit(client_id, chat_id, message_id, options)
        return await drive_stream(self.kit.tasks, run)

    async def regenerate(
        self, client_id: str, chat_id: str, reply_id: str, options: SendOptions
    ) -> TurnResult:
        """A new reply beside `reply_id` to the same question (`options.query` is ignored),
        made the active branch."""
        return await drive(await self._regenerate(client_id, chat_id, reply_id, options))

    async def regenerate_stream(
        self, client_id: str, chat_id: str, reply_id: str, options: SendOptions
    ) -> TurnStream:
        run = await self._regenerate(client_id, chat_id, reply_id, options)
        return await drive_stream(self.kit.tasks, run)

    async def siblings(self, client_id: str, chat_id: str, message_id: str) -> Siblings:
        """The message's alternatives (edits of a question, regenerations of a reply)."""
        return await self.manager.siblings(client_id, chat_id, message_id)

    async def switch_branch(
        self, client_id: str, chat_id: str, message_id: str
    ) -> tuple[Chat, list[StoredMessage]]:
        """Make the branch through `message_id` active (the head moves to the newest leaf
        under it); returns the chat and its new active branch."""
        await self.manager.switch_branch(client_id, chat_id, message_id)
        return await self.manager.history(client_id, chat_id)

    async def get_tree(self, client_id: str, chat_id: str) -> ChatTree:
        """Every message of every branch, with the active branch marked."""
        return await self.manager.tree(client_id, chat_id)

    # -- starting the turns ----------------------------------------------------------------

    async def _edit(
        self, client_id: str, chat_id: str, message_id: str, options: SendOptions
    ) -> TurnRun:
        check_tradition(options.tradition)
        original = await self.manager.message(client_id, chat_id, message_id)
        if original.role != "user":
            raise InvalidChatOperation(f"message {message_id!r} is not a user turn")
        asked = options.inherit(original, options.query)
        edited = NewMessage(
            role="user",
            content=asked.query,
            token_count=self.counter.count(asked.query),
            meta=asked.meta(),
        )
        routed = route_turn(self.kit, asked)  # refused before the new version is stored
        turn = await self.manager.edit_user_turn(client_id, chat_id, message_id, edited)
        return TurnRun(self.kit, client_id, asked, turn, routed)

    async def _regenerate(
        self, client_id: str, chat_id: str, reply_id: str, options: SendOptions
    ) -> TurnRun:
        check_tradition(options.tradition)
        original = await self.manager.message(client_id, chat_id, reply_id)
        question = None
        if original.role == "assistant" and original.parent_id is not None:
            question = await self.manager.message(client_id, chat_id, original.parent_id)
        if question is None or question.role != "user":  # v1 answers questions only
            raise InvalidChatOperation(f"message {reply_id!r} is not a reply to a question")
        turn = await self.manager.regenerate(client_id, chat_id, reply_id)
        # The question as it was asked, with the settings it was asked with unless given.
        return TurnRun(self.kit, client_id, options.inherit(turn.user, turn.user.content), turn)
