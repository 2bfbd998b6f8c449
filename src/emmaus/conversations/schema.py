"""Tables of the conversation store: chats, messages (one row each), summaries and idempotency
keys; the instances whose heartbeats lease pending replies. Migrations: `0002_conversations.py`,
`0004_leases.py`, `0006_conversation_fields.py`, `0009_import_sources.py` in
`emmaus/store/migrations/versions/`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from emmaus.store.schema import Base
from emmaus.store.types import UTCDateTime, utcnow

ID = String(40)
JSONValue = JSON().with_variant(JSONB(), "postgresql")

# Reply states. `pending` is the placeholder written with the user turn, so the reply keeps the
# seq right after its question whatever else is sent meanwhile; it becomes one of the others.
PENDING, COMPLETE, PARTIAL, FAILED = "pending", "complete", "partial", "failed"
STATUSES = (PENDING, COMPLETE, PARTIAL, FAILED)


class ChatRow(Base):
    __tablename__ = "chats"
    __table_args__ = (
        # GET /ai/v1/chats: newest first, per client, keyset pagination on (updated_at, id).
        Index("ix_chats_client_updated", "client_id", "updated_at", "id"),
        # `emmaus migrate import`: a chat imported once is found again, never stored twice.
        Index("ix_chats_client_source", "client_id", "source_id", unique=True),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str] = mapped_column(ID)
    title: Mapped[str | None] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text, doc="caller-set (PATCH chat_field=summary)")
    pin: Mapped[bool] = mapped_column(Boolean, default=False)
    tradition: Mapped[str | None] = mapped_column(String(32))
    head_message_id: Mapped[str | None] = mapped_column(ID, doc="leaf of the active branch")
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, doc="highest seq handed out")
    branched: Mapped[bool] = mapped_column(
        Boolean, default=False, doc="an edit or regeneration happened: walk parent_id links"
    )
    origin: Mapped[str | None] = mapped_column(
        String(16), doc="the API that made it: v1 (or null), conversation, response"
    )
    conversation_metadata: Mapped[dict[str, str] | None] = mapped_column(
        JSONValue, doc="the Conversations API's metadata (up to 16 string pairs)"
    )
    source_id: Mapped[str | None] = mapped_column(
        String(255), doc="imported chats: '<format>:<id in the source>' (emmaus.migration)"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        # The unique index doubles as the (chat_id, seq) index every history read uses.
        UniqueConstraint("chat_id", "seq", name="uq_messages_chat_id_seq"),
        Index("ix_messages_query_id", "query_id"),
        Index("ix_messages_chat_parent", "chat_id", "parent_id"),
        # Finding abandoned placeholders (a server died mid-turn) without scanning every message.
        Index(
            "ix_messages_pending",
            "created_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    chat_id: Mapped[str] = mapped_column(ID, ForeignKey("chats.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    parent_id: Mapped[str | None] = mapped_column(ID)
    query_id: Mapped[str | None] = mapped_column(ID)
    role: Mapped[str] = mapped_column(String(16))
    content: Mapped[str] = mapped_column(Text, default="")
    token_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=COMPLETE)
    model: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(64))
    routing_mechanism: Mapped[str | None] = mapped_column(String(32))
    routing_tier: Mapped[str | None] = mapped_column(String(16))
    routing_confidence: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(String(32))
    tool_calls: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONValue)
    tool_call_id: Mapped[str | None] = mapped_column(String(64))
    sources: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONValue)
    suggestions: Mapped[list[str] | None] = mapped_column(JSONValue)
    meta: Mapped[dict[str, Any] | None] = mapped_column(
        JSONValue, doc="v1 request settings of a user turn (character_limit, stream, intent, ...)"
    )
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONValue)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(
        String(40), doc="the instance answering a pending reply (see InstanceRow)"
    )
    source_id: Mapped[str | None] = mapped_column(
        String(255), doc="imported messages: the message's id in the source (emmaus.migration)"
    )


class InstanceRow(Base):
    """A running `emmaus serve` process. Its heartbeat is its lease on the replies it is
    answering: once the heartbeat is old, the instance is dead and any other settles them."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SummaryRow(Base):
    """A readable condensation of messages `from_seq..to_seq` (first..last message id) of one
    branch. The originals stay in `messages`; the context uses the summary instead of them."""

    __tablename__ = "chat_summaries"
    __table_args__ = (Index("ix_chat_summaries_chat_to_seq", "chat_id", "to_seq"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    chat_id: Mapped[str] = mapped_column(ID, ForeignKey("chats.id", ondelete="CASCADE"))
    from_seq: Mapped[int] = mapped_column(BigInteger)
    to_seq: Mapped[int] = mapped_column(BigInteger)
    first_message_id: Mapped[str] = mapped_column(ID)
    last_message_id: Mapped[str] = mapped_column(ID)
    message_count: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdempotencyRow(Base):
    """`Idempotency-Key` of a POST /ai/v1/message, per client, written with the user turn."""

    __tablename__ = "idempotency_keys"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), doc="hash of the request it answered")
    chat_id: Mapped[str] = mapped_column(ID, ForeignKey("chats.id", ondelete="CASCADE"))
    query_id: Mapped[str] = mapped_column(ID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
