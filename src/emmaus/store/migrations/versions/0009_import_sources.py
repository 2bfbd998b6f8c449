"""import_sources: chats.source_id and messages.source_id, the ids imported chats and messages
had in their source, so that importing again stores nothing twice

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN and CREATE INDEX on both back ends: SQLite never rebuilds the tables.
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("source_id", sa.String(length=255), nullable=True))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("source_id", sa.String(length=255), nullable=True))
    op.create_index("ix_chats_client_source", "chats", ["client_id", "source_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_chats_client_source", table_name="chats")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("source_id")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("source_id")
