"""Stateful chats: the conversation store, the ConversationManager and the context builder.

```python
manager = ConversationManager(db)                      # db: emmaus.store.Database
turn = await manager.start_turn(client_id, None, NewMessage("user", "Hi", token_count=2))
window = await ContextBuilder(manager).build(turn.chat, budget=4000, before=turn.reply)
await manager.finish_reply(turn.reply, ReplyUpdate("Hello!", COMPLETE, token_count=2))
```
"""

from emmaus.conversations.cache import ContextCache
from emmaus.conversations.context import ContextBuilder, SystemPart
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL, PENDING
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import (
    Chat,
    ChatPage,
    ContextWindow,
    NewMessage,
    Replay,
    ReplyUpdate,
    StoredMessage,
    Summary,
    Turn,
)
from emmaus.errors import (
    ChatNotFound,
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidChatOperation,
    MessageNotFound,
)

__all__ = [
    "COMPLETE",
    "FAILED",
    "PARTIAL",
    "PENDING",
    "Chat",
    "ChatNotFound",
    "ChatPage",
    "ChatSettings",
    "ContextBuilder",
    "ContextCache",
    "ContextWindow",
    "ConversationManager",
    "IdempotencyInProgress",
    "IdempotencyKeyReused",
    "InvalidChatOperation",
    "MessageNotFound",
    "NewMessage",
    "Replay",
    "ReplyUpdate",
    "StoredMessage",
    "Summary",
    "SystemPart",
    "TokenCounter",
    "Turn",
]
