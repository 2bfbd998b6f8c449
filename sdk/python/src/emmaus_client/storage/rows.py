"""Rows to records, the conversation lock and the walk along a branch: the pieces of SQL the
manager's methods share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from emmaus_client.storage import schema
from emmaus_client.storage.records import (
    Conversation,
    ConversationNotFound,
    StoredMessage,
    utc,
)

C, M = schema.conversations, schema.messages


def now() -> datetime:
    return datetime.now(UTC)


def conversation_of(row: Row[Any]) -> Conversation:
    return Conversation(
        id=row.id,
        user_id=row.user_id,
        title=row.title,
        tradition=row.tradition,
        model=row.model,
        summary=row.summary,
        summary_through_id=row.summary_through_id,
        head_message_id=row.head_message_id,
        source_id=row.source_id,
        meta=dict(row.meta or {}),
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
    )


def message_of(row: Row[Any]) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        seq=row.seq,
        parent_id=row.parent_id,
        role=row.role,
        content=row.content,
        tokens_used=row.tokens_used,
        model=row.model,
        source_id=row.source_id,
        meta=dict(row.meta or {}),
        created_at=utc(row.created_at),
    )


async def lock_conversation(
    connection: AsyncConnection, conversation_id: str, user_id: str | None = None
) -> Conversation:
    """Lock the conversation's row for the rest of the transaction, so two writers to one
    conversation take turns: `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite an UPDATE first,
    which takes the database's write lock before anything is read (no lock upgrade, so no
    deadlock between two readers turned writers)."""
    where = [C.c.id == conversation_id]
    if user_id is not None:
        where.append(C.c.user_id == user_id)
    if connection.dialect.name == "sqlite":
        await connection.execute(update(C).where(*where).values(id=C.c.id))
        query = select(C).where(*where)
    else:
        query = select(C).where(*where).with_for_update()
    row = (await connection.execute(query)).first()
    if row is None:
        raise ConversationNotFound(f"conversation {conversation_id!r} not found")
    return conversation_of(row)


async def all_messages(connection: AsyncConnection, conversation_id: str) -> list[StoredMessage]:
    query = select(M).where(M.c.conversation_id == conversation_id).order_by(M.c.seq)
    return [message_of(row) for row in await connection.execute(query)]


def branch(messages: Sequence[StoredMessage], leaf_id: str | None) -> list[StoredMessage]:
    """The messages from the root down to `leaf_id`, oldest first (empty without a leaf)."""
    by_id = {m.id: m for m in messages}
    path: list[StoredMessage] = []
    seen: set[str] = set()
    current = by_id.get(leaf_id) if leaf_id else None
    while current is not None and current.id not in seen:  # a cycle would be a corrupt import
        seen.add(current.id)
        path.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    path.reverse()
    return path
