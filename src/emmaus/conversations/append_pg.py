"""Messages appended to a chat's head in one PostgreSQL statement: lock, insert, move the head.

The ORM path (`ConversationManager._write_turn`) takes BEGIN, SELECT ... FOR UPDATE, an INSERT
of the question and its reply placeholder, an UPDATE of the chat and COMMIT: five round trips
and the unit of work's bookkeeping before the model is called. Here one statement, committed on
its own, does the same under the same row lock:

    WITH old AS (SELECT ... FROM chats WHERE id = :chat AND client_id = :client FOR UPDATE),
         bumped AS (UPDATE chats SET last_seq = old.last_seq + 2, head_message_id = :reply, ...
                    FROM old WHERE chats.id = old.id RETURNING chats.*),
         added AS (INSERT INTO messages (...) SELECT :question ..., old.last_seq + 1,
                   old.head_message_id ... FROM old UNION ALL SELECT :reply ..., old.last_seq + 2,
                   :question ... FROM old)
    SELECT old.head_message_id, old.last_seq, bumped.* FROM old JOIN bumped ON bumped.id = old.id

Writers of one chat still queue on the row lock, so `last_seq + 1` is always free. The question
is committed before the statement returns: the model is called after that, as everywhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Table, bindparam, cast, insert, literal, null, select, union_all, update

from emmaus.conversations.ids import MESSAGE, new_id
from emmaus.conversations.rows import (
    NEW_ROW_FIELDS,
    chat_of,
    message_of,
    new_row,
    reply_placeholder,
)
from emmaus.conversations.schema import ChatRow, MessageRow
from emmaus.conversations.types import Chat, NewMessage, StoredMessage, Turn
from emmaus.errors import ChatNotFound
from emmaus.store import Database

_CHATS: Table = ChatRow.__table__  # type: ignore[assignment]
_MESSAGES: Table = MessageRow.__table__  # type: ignore[assignment]
# Filled in from the locked chat row, not from Python.
_FROM_CHAT = frozenset({"chat_id", "seq", "parent_id"})
# What `new_row` sets; a flush writes the other columns' scalar defaults or SQL NULL (`null()`:
# a JSON column given None would hold JSON null, and a stop flag looks for SQL NULL in `error`).
_SET = frozenset({*NEW_ROW_FIELDS, "id", "created_at", "updated_at"})
_DEFAULTS: dict[str, Any] = {
    c.name: c.default.arg if c.default is not None and c.default.is_scalar else None
    for c in _MESSAGES.columns
    if c.name not in _SET | _FROM_CHAT
}


def _row_select(i: int, old: Any) -> Any:
    """Message `i`'s INSERT ... SELECT row: binds `<column>_<i>` for what `new_row` sets, seq and
    parent from the locked chat (the first message's parent is the old head, the others the
    message before)."""
    columns = []
    for column in _MESSAGES.columns:
        name = column.name
        if name == "chat_id":
            columns.append(old.c.id)
        elif name == "seq":
            columns.append(old.c.last_seq + (i + 1))
        elif name == "parent_id":
            previous = bindparam(f"id_{i - 1}", type_=column.type)
            columns.append(old.c.head_message_id if i == 0 else previous)
        elif name in _SET:
            columns.append(bindparam(f"{name}_{i}", type_=column.type))
        elif _DEFAULTS[name] is None:
            columns.append(cast(null(), column.type))
        else:
            columns.append(literal(_DEFAULTS[name], type_=column.type))
    return select(*columns)


@lru_cache(maxsize=8)
def _statement(count: int) -> Any:
    """The statement appending `count` messages, built once per count (building it costs more
    than running it); the values come as binds."""
    old = (
        select(_CHATS)
        .where(_CHATS.c.id == bindparam("the_chat"), _CHATS.c.client_id == bindparam("the_client"))
        .with_for_update()
        .cte("old")
    )
    bumped = (
        update(_CHATS)
        .where(_CHATS.c.id == old.c.id)
        .values(
            last_seq=old.c.last_seq + count,
            head_message_id=bindparam(f"id_{count - 1}"),
            updated_at=bindparam("the_time", type_=_CHATS.c.updated_at.type),
        )
        .returning(*_CHATS.c)
        .cte("bumped")
    )
    rows = union_all(*(_row_select(i, old) for i in range(count)))
    added = insert(_MESSAGES).from_select([c.name for c in _MESSAGES.columns], rows).cte("added")
    return (
        select(old.c.head_message_id.label("old_head"), old.c.last_seq.label("old_seq"), *bumped.c)
        .select_from(old.join(bumped, bumped.c.id == old.c.id))
        .add_cte(added)
    )


async def append_chain(
    db: Database, client_id: str, chat_id: str, messages: Sequence[NewMessage], now: datetime
) -> tuple[Chat, list[StoredMessage]]:
    """Commit `messages` at the head of `chat_id`, each the child of the one before, the head
    moved to the last (PostgreSQL only). `ChatNotFound` when the chat is not the client's."""
    rows = [
        new_row(
            m, message_id=m.id or new_id(MESSAGE), chat_id=chat_id, seq=0, parent_id=None, now=now
        )
        for m in messages
    ]
    params: dict[str, Any] = {"the_chat": chat_id, "the_client": client_id, "the_time": now}
    for i, row in enumerate(rows):
        params.update({f"{name}_{i}": getattr(row, name) for name in _SET})
    async with db.autocommit() as connection:
        found = (await connection.execute(_statement(len(rows)), params)).one_or_none()
    if found is None:
        raise ChatNotFound(f"chat {chat_id!r} not found")
    parent = found.old_head
    for i, row in enumerate(rows):
        for name, value in _DEFAULTS.items():  # what a flush would have filled in
            setattr(row, name, value)
        row.seq, row.parent_id = found.old_seq + i + 1, parent
        parent = row.id
    return chat_of(found), [message_of(row) for row in rows]


async def append_turn(
    db: Database,
    client_id: str,
    chat_id: str,
    user: NewMessage,
    now: datetime,
    lease_owner: str | None,
) -> Turn:
    """Commit `user` and its reply placeholder at the head of `chat_id` (PostgreSQL only)."""
    placeholder = reply_placeholder(user.query_id, lease_owner)
    chat, (question, reply) = await append_chain(db, client_id, chat_id, [user, placeholder], now)
    return Turn(chat, question, reply, False)
