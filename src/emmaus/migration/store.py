"""Importing into Emmaus' own store, with every branch the source has, idempotently.

A chat is found again by its source id (`chats.source_id = '<format>:<id>'`, unique per
client) and each message by its own (`messages.source_id`): importing the same file twice
writes nothing the second time; a source that grew since (a chat that went on on Gloo) gets
only its new messages appended, and the active branch moves to the source's. Each chat is one
transaction under the chat's lock, so a failure leaves it as it was. v1 chats keep their chat,
message and query ids (an app holding them carries on); other formats get new Emmaus ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.conversations.ids import MESSAGE, QUERY, new_id
from emmaus.conversations.rows import chat_row, new_row
from emmaus.conversations.schema import ChatRow, MessageRow
from emmaus.conversations.types import NewMessage
from emmaus.migration.source import SourceChat, SourceMessage
from emmaus.migration.target import (
    APPENDED,
    CONFLICT,
    CREATED,
    UNCHANGED,
    ImportOutcome,
    StoredChat,
    StoredMessage,
    query_ids,
)
from emmaus.store import Database, utcnow

_BATCH = 1000


class StoreTarget:
    def __init__(self, db: Database, client_id: str, count: Callable[[str], int]) -> None:
        self.db = db
        self.client_id = client_id
        self.count = count  # a message's token count, stored with it as for every message

    async def aclose(self) -> None:
        await self.db.aclose()

    async def import_chat(
        self, chat: SourceChat, *, dry_run: bool = False, append: bool = True
    ) -> ImportOutcome:
        try:
            return await self._import(chat, dry_run, append)
        except IntegrityError:
            # Another import of this chat won the race, or a kept id is taken: look again.
            try:
                return await self._import(chat, dry_run, append)
            except IntegrityError as exc:
                detail = "one of its ids is already stored (another chat or another client)"
                return ImportOutcome(CONFLICT, None, detail=f"{detail}: {exc.orig}")

    async def _import(self, chat: SourceChat, dry_run: bool, append: bool) -> ImportOutcome:
        async with self.db.session(write=not dry_run) as session:
            row = await self._find(session, chat, lock=not dry_run)
            if row is None and chat.keep_id:
                taken = await session.get(ChatRow, chat.source_id)
                if taken is not None and not await self._adopt(session, taken, chat, dry_run):
                    detail = f"chat id {chat.source_id} is taken by a chat not imported from it"
                    return ImportOutcome(CONFLICT, chat.source_id, detail=detail)
                row = taken
            if row is None:
                if dry_run:
                    return ImportOutcome(CREATED, None, len(chat.messages))
                return await self._create(session, chat)
            stored = await self._known(session, row.id)
            new = [m for m in chat.messages if m.source_id not in stored]
            if not new or not append:
                return ImportOutcome(UNCHANGED, row.id)
            if dry_run:
                return ImportOutcome(APPENDED, row.id, len(new))
            await self._append(session, chat, row, stored, new)
            return ImportOutcome(APPENDED, row.id, len(new))

    async def _adopt(
        self, session: AsyncSession, row: ChatRow, chat: SourceChat, dry_run: bool
    ) -> bool:
        """A v1 chat this client imported before source ids were recorded (same chat id, no
        source id): its messages with the source's ids are taken as imported from it."""
        if row.client_id != self.client_id or row.source_id is not None:
            return False
        if not dry_run:
            row.source_id = chat.key
            ids = [m.source_id for m in chat.messages if m.keep_id]
            for start in range(0, len(ids), _BATCH):
                await session.execute(
                    update(MessageRow)
                    .where(
                        MessageRow.chat_id == row.id,
                        MessageRow.id.in_(ids[start : start + _BATCH]),
                        MessageRow.source_id.is_(None),
                    )
                    .values(source_id=MessageRow.id)
                )
        return True

    async def _find(self, session: AsyncSession, chat: SourceChat, *, lock: bool) -> ChatRow | None:
        query = select(ChatRow).where(
            ChatRow.client_id == self.client_id, ChatRow.source_id == chat.key
        )
        if lock and self.db.dialect == "postgresql":
            query = query.with_for_update()
        return (await session.execute(query)).scalar_one_or_none()

    async def _known(
        self, session: AsyncSession, chat_id: str
    ) -> dict[str, tuple[str, str | None, int]]:
        """source id -> (message id, query id, seq) of the chat's imported messages."""
        query = select(MessageRow.source_id, MessageRow.id, MessageRow.query_id, MessageRow.seq)
        rows = await session.execute(query.where(MessageRow.chat_id == chat_id))
        return {r.source_id: (r.id, r.query_id, r.seq) for r in rows if r.source_id is not None}

    async def _create(self, session: AsyncSession, chat: SourceChat) -> ImportOutcome:
        now = utcnow()
        created = chat.created_at or (chat.messages[0].created_at if chat.messages else None)
        row = chat_row(self.client_id, created or now, title=chat.title, pin=chat.pin)
        if chat.keep_id:
            row.id = chat.source_id
        row.summary, row.source_id = chat.summary, chat.key
        ids = {m.source_id: (m.source_id if m.keep_id else new_id(MESSAGE)) for m in chat.messages}
        queries = query_ids(chat, lambda: new_id(QUERY))
        rows = self._rows(chat.messages, ids, queries, row.id, 1, row.created_at)
        row.last_seq = len(rows)
        row.head_message_id = ids.get(chat.leaf) if chat.leaf else None
        row.branched = not _is_chain(rows, row.head_message_id, None)
        newest = max((r["created_at"] for r in rows), default=None)
        row.updated_at = chat.updated_at or newest or row.created_at
        session.add(row)
        await session.flush()
        await _insert(session, rows)
        return ImportOutcome(CREATED, row.id, len(rows))

    async def _append(
        self,
        session: AsyncSession,
        chat: SourceChat,
        row: ChatRow,
        stored: dict[str, tuple[str, str | None, int]],
        new: list[SourceMessage],
    ) -> None:
        ids = {source: known[0] for source, known in stored.items()}
        ids.update({m.source_id: (m.source_id if m.keep_id else new_id(MESSAGE)) for m in new})
        known_queries = {source: known[1] for source, known in stored.items()}
        queries = query_ids(chat, lambda: new_id(QUERY), known_queries)
        last = next((s for s, k in stored.items() if k[2] == row.last_seq), None)
        rows = self._rows(new, ids, queries, row.id, row.last_seq + 1, row.created_at)
        head = ids.get(chat.leaf) if chat.leaf else None
        head = head or (rows[-1]["id"] if rows else row.head_message_id)
        chained = _is_chain(rows, head, ids.get(last) if last else None)
        row.branched = bool(row.branched) or not chained
        row.last_seq += len(rows)
        row.head_message_id = head
        newest = max((r["created_at"] for r in rows), default=row.updated_at)
        row.updated_at = max(row.updated_at, newest)
        await session.flush()
        await _insert(session, rows)

    def _rows(
        self,
        messages: Sequence[SourceMessage],
        ids: dict[str, str],
        queries: dict[str, str | None],
        chat_id: str,
        first_seq: int,
        fallback_time: datetime,
    ) -> list[dict[str, Any]]:
        rows = []
        for seq, message in enumerate(messages, start=first_seq):
            new = NewMessage(
                message.role,
                message.content,
                token_count=self.count(message.content),
                query_id=queries.get(message.source_id),
                status=message.status,
                meta=message.meta,
                model=message.model,
                sources=message.sources,
                suggestions=message.suggestions,
                created_at=message.created_at or fallback_time,
            )
            parent = ids.get(message.parent) if message.parent else None
            built = new_row(
                new,
                message_id=ids[message.source_id],
                chat_id=chat_id,
                seq=seq,
                parent_id=parent,
                now=fallback_time,
            )
            built.source_id = message.source_id
            rows.append({c.key: getattr(built, c.key) for c in MessageRow.__table__.columns})
        return rows

    # -- reading back, for verify ----------------------------------------------------------

    async def stored_chat(self, chat: SourceChat) -> StoredChat | None:
        async with self.db.session() as session:
            row = await self._find(session, chat, lock=False)
            if row is None:
                return None
            query = select(MessageRow).where(MessageRow.chat_id == row.id)
            messages = list((await session.execute(query.order_by(MessageRow.seq))).scalars())
        source_of = {m.id: m.source_id or m.id for m in messages}
        parent_of = {m.id: m.parent_id for m in messages}
        found = [
            StoredMessage(
                id=m.id,
                source_id=m.source_id,
                parent=source_of.get(m.parent_id, m.parent_id) if m.parent_id else None,
                role=m.role,
                content=m.content,
            )
            for m in messages
        ]
        active: list[str] = []
        at = row.head_message_id
        while at is not None and at in parent_of and len(active) <= len(messages):
            active.append(source_of[at])
            at = parent_of[at]
        return StoredChat(row.id, found, active[::-1])


def _is_chain(rows: list[dict[str, Any]], head: str | None, before: str | None) -> bool:
    """The rows (in seq order) extend one branch after `before`, ending at `head`: the store
    may then read the chat by seq alone (`branched` false)."""
    parent = before
    for row in rows:
        if row["parent_id"] != parent:
            return False
        parent = row["id"]
    return head == parent


async def _insert(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        await session.execute(insert(MessageRow), rows[start : start + _BATCH])
