"""The client-managed tables: one row per conversation, one row per message (never a JSON blob
per chat). Names carry an `emmaus_` prefix so they sit beside an application's own tables
(the migration guide's minimal `messages` table included) without a clash."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = 64  # uuid4 hex (32), or an importer's own id (a prefixed uuid fits)

conversations = Table(
    "emmaus_conversations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("user_id", String(255), nullable=False),
    Column("title", Text),
    Column("tradition", String(40)),
    Column("model", String(255)),  # the model the conversation asks for (None: auto-routing)
    Column("summary", Text),
    # The summary stands for the active branch up to and including this message.
    Column("summary_through_id", String(ID)),
    Column("head_message_id", String(ID)),  # the active branch's leaf
    Column("next_seq", Integer, nullable=False, default=1),
    Column("source_id", String(255), unique=True),  # where an importer took it from
    Column("meta", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_emmaus_conversations_user", "user_id", "updated_at"),
)

messages = Table(
    "emmaus_messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "conversation_id",
        String(ID),
        ForeignKey("emmaus_conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),  # order of insertion within the conversation
    # Branches: an edit or a regeneration (or an imported tree) is a sibling under one parent.
    Column("parent_id", String(ID), ForeignKey("emmaus_messages.id", ondelete="CASCADE")),
    Column("role", String(20), nullable=False),
    Column("content", Text, nullable=False),
    Column("tokens_used", Integer, nullable=False),
    Column("model", String(255)),
    Column("source_id", String(255)),
    Column("meta", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("conversation_id", "seq", name="uq_emmaus_messages_seq"),
    UniqueConstraint("conversation_id", "source_id", name="uq_emmaus_messages_source"),
    Index("ix_emmaus_messages_parent", "parent_id"),
)

schema_versions = Table(
    "emmaus_schema",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
