"""Shared pieces of the store: row → domain conversion, the per-chat lock and the branch walk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.conversations.ids import CHAT, new_id, user_id_for
from emmaus.conversations.schema import FAILED, PENDING, ChatRow, MessageRow, SummaryRow
from emmaus.conversations.types import Chat, NewMessage, StoredMessage, Summary
from emmaus.errors import ChatNotFound, ReplyAbandoned
from emmaus.store import Database, utcnow

STALE_ERROR = ReplyAbandoned("the server stopped before this reply was finished").to_dict()


def _names(kind: type, *, besides: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind) if f.name not in besides)


def _copied(source: Any, names: tuple[str, ...]) -> dict[str, Any]:
    """The attributes `names` of a row (or domain object), for building the other side: one
    mapper for every row type instead of a hand-written field list each."""
    return {name: getattr(source, name) for name in names}


_CHAT_FIELDS = _names(Chat, besides=("pin", "branched"))
_MESSAGE_FIELDS = _names(StoredMessage, besides=("status", "error"))
_SUMMARY_FIELDS = _names(Summary)
# What `new_row` copies from a `NewMessage` (append_pg binds the same columns).
NEW_ROW_FIELDS = _names(NewMessage, besides=("created_at", "id"))


def chat_of(row: ChatRow) -> Chat:
    return Chat(**_copied(row, _CHAT_FIELDS), pin=bool(row.pin), branched=bool(row.branched))


def message_of(row: MessageRow, stale_before: datetime | None = None) -> StoredMessage:
    status, error = row.status, row.error
    if status == PENDING and stale_before is not None and row.created_at < stale_before:
        # Its server died mid-turn (nothing else leaves a placeholder this old): report it failed.
        status, error = FAILED, STALE_ERROR
    return StoredMessage(**_copied(row, _MESSAGE_FIELDS), status=status, error=error)


def summary_of(row: SummaryRow) -> Summary:
    return Summary(**_copied(row, _SUMMARY_FIELDS))


def reply_placeholder(
    query_id: str | None, lease_owner: str | None, meta: dict[str, Any] | None = None
) -> NewMessage:
    """The pending reply written with its question, leased by the instance answering it."""
    return NewMessage(
        role="assistant",
        content="",
        token_count=0,
        query_id=query_id,
        status=PENDING,
        meta=meta,
        lease_owner=lease_owner,
    )


def new_row(
    message: NewMessage,
    *,
    message_id: str,
    chat_id: str,
    seq: int,
    parent_id: str | None,
    now: datetime,
) -> MessageRow:
    created = message.created_at or now
    return MessageRow(
        **_copied(message, NEW_ROW_FIELDS),
        id=message_id,
        chat_id=chat_id,
        seq=seq,
        parent_id=parent_id,
        created_at=created,
        updated_at=created,
    )


def stale_cutoff(stale_after: float) -> datetime:
    return utcnow() - timedelta(seconds=stale_after)


@asynccontextmanager
async def locked_chat(
    db: Database, client_id: str, chat_id: str
) -> AsyncIterator[tuple[AsyncSession, ChatRow]]:
    """A write transaction holding this chat's lock: PostgreSQL locks the row (`SELECT … FOR
    UPDATE`); SQLite takes its single write lock up front (`BEGIN IMMEDIATE`). Either way writers
    of one chat are serialised, so `last_seq + 1` is always free. Commits when the block ends."""
    async with db.session(write=True) as session:
        query = select(ChatRow).where(ChatRow.id == chat_id, ChatRow.client_id == client_id)
        if db.dialect == "postgresql":
            query = query.with_for_update()
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            raise ChatNotFound(f"chat {chat_id!r} not found")
        yield session, row


# What a context needs of a message: the hot path reads these columns only (no ORM objects,
# no JSON it would not use), which keeps the cost per kept turn small.
_M = MessageRow.__table__.c
LEAN_COLUMNS = (
    _M.id,
    _M.chat_id,
    _M.seq,
    _M.parent_id,
    _M.query_id,
    _M.role,
    _M.content,
    _M.token_count,
    _M.status,
    _M.tool_calls,
    _M.tool_call_id,
)
_LEAN_FIELDS = tuple(column.name for column in LEAN_COLUMNS)
# Lean rows carry no timestamps (parsing them is most of a row's cost on SQLite).
NO_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def lean_message(row: Any) -> StoredMessage:
    """A `StoredMessage` from a row of `LEAN_COLUMNS`: metadata left empty, times `NO_TIME`."""
    return StoredMessage(**_copied(row, _LEAN_FIELDS), created_at=NO_TIME, updated_at=NO_TIME)


def branch_walk(chat_id: str, start_id: str, limit: int, *, lean: bool = False) -> Select[Any]:
    """Up to `limit` messages from `start_id` back towards the root along `parent_id`, newest
    first: one recursive query, each step a primary-key lookup, so the cost is O(limit). With
    `lean`, rows of `LEAN_COLUMNS` instead of `MessageRow` objects."""
    m = MessageRow.__table__
    seed = select(m.c.id, m.c.parent_id, literal(0).label("depth")).where(
        m.c.id == start_id, m.c.chat_id == chat_id
    )
    walk = seed.cte("walk", recursive=True)
    step = (
        select(m.c.id, m.c.parent_id, (walk.c.depth + 1).label("depth"))
        .select_from(m.join(walk, m.c.id == walk.c.parent_id))
        .where(walk.c.depth < limit - 1, m.c.chat_id == chat_id)
    )
    walk = walk.union_all(step)
    what = select(*LEAN_COLUMNS) if lean else select(MessageRow)
    return what.join(walk, MessageRow.id == walk.c.id).order_by(walk.c.depth).limit(limit)


def chat_row(
    client_id: str,
    now: datetime,
    *,
    title: str | None = None,
    tradition: str | None = None,
    pin: bool = False,
    summary: str | None = None,
    origin: str | None = None,
    metadata: dict[str, str] | None = None,
) -> ChatRow:
    """A new chat row (not yet added to a session)."""
    return ChatRow(
        origin=origin,
        conversation_metadata=metadata,
        id=new_id(CHAT),
        client_id=client_id,
        user_id=user_id_for(client_id),
        title=title,
        summary=summary,
        pin=pin,
        tradition=tradition,
        head_message_id=None,
        last_seq=0,
        branched=False,
        created_at=now,
        updated_at=now,
    )


async def owned_chat(session: AsyncSession, client_id: str, chat_id: str) -> ChatRow:
    """The chat if this client owns it; another client's chat does not exist (404)."""
    query = select(ChatRow).where(ChatRow.id == chat_id, ChatRow.client_id == client_id)
    row = (await session.execute(query)).scalar_one_or_none()
    if row is None:
        raise ChatNotFound(f"chat {chat_id!r} not found")
    return row
