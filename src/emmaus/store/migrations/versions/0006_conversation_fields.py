"""chats.origin and chats.conversation_metadata: one store behind v1 chats, Responses and
Conversations

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
    with op.batch_alter_table("chats") as batch:
        # Which API made the chat: "v1" (and imports), "conversation" or "response" (a chain of
        # responses without a conversation). Old rows are v1 chats.
        batch.add_column(sa.Column("origin", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("conversation_metadata", json, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("conversation_metadata")
        batch.drop_column("origin")
