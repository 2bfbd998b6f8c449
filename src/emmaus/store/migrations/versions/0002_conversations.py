"""conversations: chats, messages (one row each), summaries, idempotency keys

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _ident(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(length=40), nullable=nullable)


def _moment(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "chats",
        _ident("id"),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        _ident("user_id"),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("pin", sa.Boolean(), nullable=False),
        sa.Column("tradition", sa.String(length=32), nullable=True),
        _ident("head_message_id", nullable=True),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("branched", sa.Boolean(), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chats")),
    )
    op.create_index(
        "ix_chats_client_updated", "chats", ["client_id", "updated_at", "id"], unique=False
    )
    op.create_table(
        "messages",
        _ident("id"),
        _ident("chat_id"),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _ident("parent_id", nullable=True),
        _ident("query_id", nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("routing_mechanism", sa.String(length=32), nullable=True),
        sa.Column("routing_tier", sa.String(length=16), nullable=True),
        sa.Column("routing_confidence", sa.Float(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("finish_reason", sa.String(length=32), nullable=True),
        sa.Column("tool_calls", _json(), nullable=True),
        sa.Column("tool_call_id", sa.String(length=64), nullable=True),
        sa.Column("sources", _json(), nullable=True),
        sa.Column("suggestions", _json(), nullable=True),
        sa.Column("meta", _json(), nullable=True),
        sa.Column("error", _json(), nullable=True),
        _moment("created_at"),
        _moment("updated_at"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name=op.f("fk_messages_chat_id_chats"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("chat_id", "seq", name="uq_messages_chat_id_seq"),
    )
    op.create_index("ix_messages_chat_parent", "messages", ["chat_id", "parent_id"], unique=False)
    op.create_index("ix_messages_query_id", "messages", ["query_id"], unique=False)
    pending = sa.text("status = 'pending'")
    op.create_index(
        "ix_messages_pending",
        "messages",
        ["created_at"],
        unique=False,
        postgresql_where=pending,
        sqlite_where=pending,
    )
    op.create_table(
        "chat_summaries",
        _ident("id"),
        _ident("chat_id"),
        sa.Column("from_seq", sa.BigInteger(), nullable=False),
        sa.Column("to_seq", sa.BigInteger(), nullable=False),
        _ident("first_message_id"),
        _ident("last_message_id"),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("token_count", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        _moment("created_at"),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_chat_summaries_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_summaries")),
    )
    op.create_index(
        "ix_chat_summaries_chat_to_seq", "chat_summaries", ["chat_id", "to_seq"], unique=False
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        _ident("chat_id"),
        _ident("query_id"),
        _moment("created_at"),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_idempotency_keys_chat_id_chats"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "key", name=op.f("pk_idempotency_keys")),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_chat_summaries_chat_to_seq", table_name="chat_summaries")
    op.drop_table("chat_summaries")
    op.drop_index("ix_messages_pending", table_name="messages")
    op.drop_index("ix_messages_query_id", table_name="messages")
    op.drop_index("ix_messages_chat_parent", table_name="messages")
    op.drop_table("messages")
    op.drop_index("ix_chats_client_updated", table_name="chats")
    op.drop_table("chats")
