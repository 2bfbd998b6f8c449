"""ConversationManager: the conversation store as a library (no HTTP needed).

```python
manager = ConversationManager(db)
chat = await manager.create_chat(client_id, tradition="catholic")
turn = await manager.start_turn(client_id, chat.id, NewMessage("user", "Hi", token_count=2))
await manager.finish_reply(turn.reply, ReplyUpdate("Hello!", COMPLETE, token_count=3))
chat, messages = await manager.history(client_id, chat.id)
```

Every read and write names the owning client: another client's chat does not exist for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import datetime

from sqlalchemy import null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.conversations.append_pg import append_turn
from emmaus.conversations.archive import ArchiveOps
from emmaus.conversations.branching import BranchOps
from emmaus.conversations.cache import ContextCache
from emmaus.conversations.chats import UNSET, ChatOps
from emmaus.conversations.ids import MESSAGE, QUERY, new_id
from emmaus.conversations.items import ItemOps
from emmaus.conversations.rows import (
    LEAN_COLUMNS,
    branch_walk,
    chat_of,
    chat_row,
    lean_message,
    locked_chat,
    message_of,
    new_row,
    reply_placeholder,
    stale_cutoff,
)
from emmaus.conversations.schema import (
    PENDING,
    ChatRow,
    IdempotencyRow,
    MessageRow,
)
from emmaus.conversations.tree import TreeOps
from emmaus.conversations.types import (
    Chat,
    NewMessage,
    Preloaded,
    Replay,
    ReplyUpdate,
    StoredMessage,
    Summary,
    Turn,
)
from emmaus.store import Database, utcnow

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER = 600.0  # seconds before a reply placeholder counts as abandoned
_IMPORT_BATCH = 1000


class ConversationManager(ChatOps, BranchOps, TreeOps, ArchiveOps, ItemOps):
    def __init__(
        self,
        db: Database,
        *,
        stale_after: float = DEFAULT_STALE_AFTER,
        cache: ContextCache | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.db = db
        self.stale_after = stale_after
        self.cache = cache
        self.instance_id = instance_id  # leases the placeholders it writes (see leases.py)

    # -- turns ---------------------------------------------------------------------------------

    async def start_turn(
        self,
        client_id: str,
        chat_id: str | None,
        user: NewMessage,
        *,
        tradition: str | None = None,
        idempotency: tuple[str, str] | None = None,
        context_rows: int = 0,
    ) -> Turn | Replay:
        """Commit the user turn and its reply placeholder (seq n and n + 1) under the chat's lock,
        creating the chat when `chat_id` is None. With `idempotency=(key, fingerprint)` a key seen
        before returns a `Replay` of the first turn and writes nothing. With `context_rows`, the
        same transaction also reads the context's first page (`Turn.preloaded`)."""
        if idempotency is not None:
            seen = await self.find_replay(client_id, idempotency[0])
            if seen is not None:
                return seen
        try:
            turn = await self._start_turn(
                client_id, chat_id, user, tradition, idempotency, context_rows
            )
        except IntegrityError:
            # Two requests raced with one key: the loser replays the winner's turn.
            seen = await self.find_replay(client_id, idempotency[0]) if idempotency else None
            if seen is None:
                raise
            return seen
        return turn  # appending leaves older rows as they were: cached context stays valid

    async def _start_turn(
        self,
        client_id: str,
        chat_id: str | None,
        user: NewMessage,
        tradition: str | None,
        idempotency: tuple[str, str] | None,
        context_rows: int,
    ) -> Turn:
        now = utcnow()
        query_id = user.query_id or new_id(QUERY)
        user.query_id = query_id
        if chat_id is None:
            async with self.db.session(write=True) as session:
                chat = chat_row(client_id, now, tradition=tradition)
                session.add(chat)
                await session.flush()
                turn = await self._write_turn(session, chat, user, now, idempotency, created=True)
                # A new chat holds the question alone: nothing to read.
                turn.preloaded = Preloaded([], [turn.user]) if context_rows else None
            return turn
        if self.db.dialect == "postgresql" and idempotency is None:
            # One autocommitted statement (append_pg), then the context's first read.
            turn = await append_turn(self.db, client_id, chat_id, user, now, self.instance_id)
            if context_rows:
                turn.preloaded = await self.preload(turn.chat, context_rows, turn.reply)
            return turn
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            turn = await self._write_turn(session, chat, user, now, idempotency, created=False)
            if context_rows:  # the context's first read rides on the write: no new session
                summaries = await self._latest_summaries(session, chat.id, 8)
                recent = await self._recent(session, turn.chat, context_rows, turn.reply)
                turn.preloaded = Preloaded(summaries, recent)
            return turn

    async def _write_turn(
        self,
        session: AsyncSession,
        chat: ChatRow,
        user: NewMessage,
        now: datetime,
        idempotency: tuple[str, str] | None,
        *,
        created: bool,
        parent_id: str | None = UNSET,
    ) -> Turn:
        if idempotency is not None:
            key, fingerprint = idempotency
            session.add(
                IdempotencyRow(
                    client_id=chat.client_id,
                    key=key,
                    fingerprint=fingerprint,
                    chat_id=chat.id,
                    query_id=user.query_id,
                    created_at=now,
                )
            )
        seq = chat.last_seq + 1
        parent = chat.head_message_id if parent_id is UNSET else parent_id
        user_row = new_row(
            user, message_id=new_id(MESSAGE), chat_id=chat.id, seq=seq, parent_id=parent, now=now
        )
        placeholder = reply_placeholder(user.query_id, self.instance_id)
        reply_row = new_row(
            placeholder,
            message_id=new_id(MESSAGE),
            chat_id=chat.id,
            seq=seq + 1,
            parent_id=user_row.id,
            now=now,
        )
        session.add_all([user_row, reply_row])
        chat.last_seq = seq + 1
        chat.head_message_id = reply_row.id
        chat.updated_at = now
        await session.flush()
        return Turn(chat_of(chat), message_of(user_row), message_of(reply_row), created)

    async def finish_reply(self, reply: StoredMessage, update_: ReplyUpdate) -> StoredMessage:
        """Settle a placeholder: its text, status (complete/partial/failed), model and usage."""
        now = utcnow()
        values = {k: v for k, v in asdict(update_).items() if v is not None}
        values.update(
            content=update_.content,
            status=update_.status,
            updated_at=now,
            lease_owner=None,
            error=update_.error,
        )
        # SQL NULL, not JSON null: a stop request flagged on the pending row (`Leases.flag_stop`)
        # must not outlive a reply that completed anyway.
        written = {**values, "error": null() if update_.error is None else update_.error}
        settle = (
            update(MessageRow)
            .where(MessageRow.id == reply.id, MessageRow.chat_id == reply.chat_id)
            .values(**written)
        )
        if self.db.dialect == "postgresql":
            # One statement, committed on its own: no BEGIN, second UPDATE or COMMIT round trip.
            settled_row = settle.returning(MessageRow.chat_id).cte("settled")
            touch = (
                update(ChatRow)
                .where(ChatRow.id.in_(select(settled_row.c.chat_id)))
                .values(updated_at=now)
            )
            found = await self.db.execute_alone(touch)
        else:
            async with self.db.session(write=True) as session:
                found = (await session.execute(settle)).rowcount  # type: ignore[attr-defined]
                await session.execute(
                    update(ChatRow).where(ChatRow.id == reply.chat_id).values(updated_at=now)
                )
        settled = replace(reply, **values)
        if not found:
            return settled  # deleted while it was being generated
        if self.cache is not None:
            await self.cache.extend(reply.chat_id, settled)
        return settled

    async def save_partial(self, reply: StoredMessage, text: str) -> None:
        """The text streamed so far into a pending reply, so a crash keeps it (as `partial`)."""
        async with self.db.session(write=True) as session:
            await session.execute(
                update(MessageRow)
                .where(MessageRow.id == reply.id, MessageRow.status == PENDING)
                .values(content=text)
            )

    async def append(
        self,
        client_id: str,
        chat_id: str,
        messages: Sequence[NewMessage],
        *,
        parent_id: str | None = UNSET,
    ) -> list[StoredMessage]:
        """Append settled messages (tool calls and results, system notes...) in one transaction,
        chained after `parent_id` (default: the head); the head moves to the last one."""
        if not messages:
            return []
        now = utcnow()
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            parent = chat.head_message_id if parent_id is UNSET else parent_id
            rows = []
            for message in messages:
                chat.last_seq += 1
                row = new_row(
                    message,
                    message_id=new_id(MESSAGE),
                    chat_id=chat.id,
                    seq=chat.last_seq,
                    parent_id=parent,
                    now=now,
                )
                rows.append(row)
                parent = row.id
            session.add_all(rows)
            if parent_id is not UNSET and parent_id != chat.head_message_id:
                chat.branched = True
            chat.head_message_id = parent
            chat.updated_at = now
        await self._invalidate(chat_id)
        return [message_of(r) for r in rows]

    # -- reading -------------------------------------------------------------------------------

    async def history(
        self, client_id: str, chat_id: str, *, include_pending: bool = False
    ) -> tuple[Chat, list[StoredMessage]]:
        """The chat and its active branch, oldest first."""
        stale = stale_cutoff(self.stale_after)
        async with self.db.session() as session:
            chat = chat_of(await self._owned(session, client_id, chat_id))
            if not chat.branched:
                query = select(MessageRow).where(MessageRow.chat_id == chat_id)
                rows = list((await session.execute(query.order_by(MessageRow.seq))).scalars())
            elif chat.head_message_id:
                walk = branch_walk(chat_id, chat.head_message_id, chat.last_seq + 1)
                rows = list((await session.execute(walk)).scalars())[::-1]
            else:
                rows = []
        messages = [message_of(r, stale) for r in rows]
        if not include_pending:
            messages = [m for m in messages if m.status != PENDING]
        return chat, messages

    async def all_messages(self, client_id: str, chat_id: str) -> list[StoredMessage]:
        """Every message of every branch, in seq order."""
        stale = stale_cutoff(self.stale_after)
        async with self.db.session() as session:
            await self._owned(session, client_id, chat_id)
            query = select(MessageRow).where(MessageRow.chat_id == chat_id)
            rows = (await session.execute(query.order_by(MessageRow.seq))).scalars()
            return [message_of(r, stale) for r in rows]

    async def recent(
        self, chat: Chat, *, limit: int, before: StoredMessage | None = None
    ) -> list[StoredMessage]:
        """Up to `limit` messages of the active branch older than `before` (default: from the
        head), newest first. O(limit): an index range scan, or a walk along `parent_id`."""
        async with self.db.session() as session:
            return await self._recent(session, chat, limit, before)

    async def recent_with_summaries(
        self, chat: Chat, *, limit: int, before: StoredMessage | None = None
    ) -> tuple[list[Summary], list[StoredMessage]]:
        """`latest_summaries` and `recent` in one transaction (one round trip fewer per turn)."""
        async with self.db.session() as session:
            summaries = await self._latest_summaries(session, chat.id, 8)
            return summaries, await self._recent(session, chat, limit, before)

    async def preload(self, chat: Chat, limit: int, before: StoredMessage) -> Preloaded:
        """The context's first read for a turn just committed (`before`: its reply): the newest
        summaries and `limit` rows before it, each read committing alone (the rows read are
        settled history older than the turn, which later writes do not change)."""
        async with self.db.reads_alone() as session:
            summaries = await self._latest_summaries(session, chat.id, 8)
            return Preloaded(summaries, await self._recent(session, chat, limit, before))

    async def _recent(
        self, session: AsyncSession, chat: Chat, limit: int, before: StoredMessage | None
    ) -> list[StoredMessage]:
        # Lean rows (see LEAN_COLUMNS): this read sits on every turn's path.
        if not chat.branched:
            query = select(*LEAN_COLUMNS).where(MessageRow.chat_id == chat.id)
            if before is not None:
                query = query.where(MessageRow.seq < before.seq)
            query = query.order_by(MessageRow.seq.desc()).limit(limit)
        else:
            start = before.parent_id if before is not None else chat.head_message_id
            if start is None:
                return []
            query = branch_walk(chat.id, start, limit, lean=True)
        return [lean_message(r) for r in await session.execute(query)]

    async def query_messages(self, chat_id: str, query_id: str) -> list[StoredMessage]:
        """The messages of one exchange (the user turn and its replies), in seq order."""
        stale = stale_cutoff(self.stale_after)
        query = (
            select(MessageRow)
            .where(MessageRow.query_id == query_id, MessageRow.chat_id == chat_id)
            .order_by(MessageRow.seq)
        )
        async with self.db.session() as session:
            return [message_of(r, stale) for r in (await session.execute(query)).scalars()]

    async def find_replay(self, client_id: str, key: str) -> Replay | None:
        async with self.db.session() as session:
            row = await session.get(IdempotencyRow, (client_id, key))
            if row is None:
                return None
            return Replay(row.chat_id, row.query_id, row.fingerprint, row.created_at)

    # -- helpers -------------------------------------------------------------------------------

    async def _invalidate(self, chat_id: str) -> None:
        if self.cache is not None:
            await self.cache.invalidate(chat_id)
