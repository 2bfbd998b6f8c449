"""Writing a batch of messages into a locked conversation: `seq` from the conversation's
counter, parents resolved (`ACTIVE`: the branch being extended), the head moved, all in the
caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from emmaus_client.storage import rows, schema
from emmaus_client.storage.records import (
    ACTIVE,
    ROLES,
    Conversation,
    DuplicateSource,
    NewMessage,
    StoredMessage,
    estimate_tokens,
    utc,
)

C, M = schema.conversations, schema.messages


async def insert_messages(
    connection: AsyncConnection,
    conversation: Conversation,
    messages: Sequence[NewMessage],
    activate: bool,
) -> list[StoredMessage]:
    """Write `messages` under the conversation's lock (held by `connection`'s transaction),
    numbered from its `next_seq`; a `source_id` already stored raises `DuplicateSource` and the
    batch is undone."""
    if not messages:
        return []
    seq = (
        await connection.execute(select(C.c.next_seq).where(C.c.id == conversation.id))
    ).scalar_one()
    previous = conversation.head_message_id
    values = []
    moment = rows.now()
    for offset, new in enumerate(messages):
        if new.role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}, not {new.role!r}")
        message_id = new.id or uuid.uuid4().hex
        parent = previous if new.parent_id is ACTIVE else new.parent_id
        values.append(
            {
                "id": message_id,
                "conversation_id": conversation.id,
                "seq": seq + offset,
                "parent_id": parent,
                "role": new.role,
                "content": new.content,
                "tokens_used": (
                    new.tokens_used if new.tokens_used is not None else estimate_tokens(new.content)
                ),
                "model": new.model,
                "source_id": new.source_id,
                "meta": new.meta or {},
                "created_at": utc(new.created_at) if new.created_at else moment,
            }
        )
        previous = message_id
    changes: dict[str, Any] = {"next_seq": seq + len(values), "updated_at": moment}
    if activate:
        changes["head_message_id"] = previous
    try:
        async with connection.begin_nested():
            for row in values:  # in order: a parent is written before its children
                await connection.execute(insert(M).values(**row))
    except IntegrityError as exc:
        sources = [v["source_id"] for v in values if v["source_id"] is not None]
        if sources:
            taken = await connection.execute(
                select(M.c.source_id).where(
                    M.c.conversation_id == conversation.id, M.c.source_id.in_(sources)
                )
            )
            if (first := taken.scalars().first()) is not None:
                raise DuplicateSource(first) from exc
        raise
    await connection.execute(update(C).where(C.c.id == conversation.id).values(**changes))
    return [rows.message_of(_Row(v)) for v in values]


class _Row:
    """Attribute access over a dict of inserted values (what `rows.message_of` reads)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
