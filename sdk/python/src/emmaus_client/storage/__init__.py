"""Client-managed conversation storage (`pip install 'emmaus-client[storage]'`): the migration
guide's ConversationManager over the application's own SQLAlchemy database, SQLite or
PostgreSQL, with tables created and migrated by the package."""

try:
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        "emmaus_client.storage needs the storage extra: pip install 'emmaus-client[storage]'"
    ) from exc

from emmaus_client.storage.manager import ConversationManager, LockedConversation, Summarizer
from emmaus_client.storage.migrations import LATEST as SCHEMA_VERSION
from emmaus_client.storage.records import (
    ACTIVE,
    Context,
    Conversation,
    ConversationNotFound,
    DuplicateSource,
    MessageNotFound,
    NewMessage,
    StorageError,
    StoredMessage,
    estimate_tokens,
)
from emmaus_client.storage.schema import conversations, messages, metadata

__all__ = [
    "ACTIVE",
    "SCHEMA_VERSION",
    "Context",
    "Conversation",
    "ConversationManager",
    "ConversationNotFound",
    "DuplicateSource",
    "LockedConversation",
    "MessageNotFound",
    "NewMessage",
    "StorageError",
    "StoredMessage",
    "Summarizer",
    "conversations",
    "estimate_tokens",
    "messages",
    "metadata",
]
