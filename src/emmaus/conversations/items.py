"""The store seen as items: a conversation is a chat, an item is a message, a response is a reply
with the inputs written just before it (one `query_id`). A mixin of `ConversationManager`, used
by the Responses and Conversations APIs; v1 reads the same rows.

A response with a parent that is not the chat's head forks: the new rows hang under that parent,
the head moves to the new reply, and the chat is marked branched (history walks `parent_id`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.conversations.append_pg import append_chain
from emmaus.conversations.chats import UNSET
from emmaus.conversations.ids import MESSAGE, QUERY, new_id
from emmaus.conversations.rows import (
    branch_walk,
    chat_of,
    chat_row,
    locked_chat,
    message_of,
    new_row,
    reply_placeholder,
    stale_cutoff,
)
from emmaus.conversations.schema import ChatRow, MessageRow
from emmaus.conversations.types import Chat, NewMessage, Preloaded, StoredMessage, Summary
from emmaus.errors import MessageNotFound
from emmaus.store import Database, utcnow

# A branch is read whole for item listings; this bounds one read (OpenAI lists 100 at most).
MAX_BRANCH = 100_000


@dataclass(slots=True)
class ItemTurn:
    """Input items committed with the placeholder of the reply that answers them."""

    chat: Chat
    inputs: list[StoredMessage]
    reply: StoredMessage
    created_chat: bool = False
    preloaded: Preloaded | None = None  # the context's first read, when it was asked for


class ItemOps:
    """Mixed into `ConversationManager`."""

    db: Database
    instance_id: str | None
    stale_after: float

    async def _invalidate(self, chat_id: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def _latest_summaries(
        self, session: AsyncSession, chat_id: str, limit: int
    ) -> list[Summary]:  # pragma: no cover - overridden
        raise NotImplementedError

    async def _recent(
        self, session: AsyncSession, chat: Chat, limit: int, before: StoredMessage | None
    ) -> list[StoredMessage]:  # pragma: no cover - overridden
        raise NotImplementedError

    async def preload(
        self, chat: Chat, limit: int, before: StoredMessage
    ) -> Preloaded:  # pragma: no cover - overridden
        raise NotImplementedError

    async def create_conversation(
        self,
        client_id: str,
        *,
        metadata: dict[str, str] | None = None,
        items: Sequence[NewMessage] = (),
        origin: str = "conversation",
        tradition: str | None = None,
    ) -> tuple[Chat, list[StoredMessage]]:
        """A new chat, with its first items (in order) in the same transaction."""
        now = utcnow()
        async with self.db.session(write=True) as session:
            chat = chat_row(client_id, now, origin=origin, metadata=metadata, tradition=tradition)
            session.add(chat)
            rows = _chain(chat, list(items), None, now)
            session.add_all(rows)
            if rows:
                chat.head_message_id = rows[-1].id
        return chat_of(chat), [message_of(r) for r in rows]

    async def set_metadata(self, client_id: str, chat_id: str, metadata: dict[str, str]) -> Chat:
        async with locked_chat(self.db, client_id, chat_id) as (_, row):
            row.conversation_metadata = metadata
            row.updated_at = utcnow()
        return chat_of(row)

    async def start_item_turn(
        self,
        client_id: str,
        chat_id: str | None,
        inputs: Sequence[NewMessage],
        *,
        parent_id: str | None = UNSET,
        reply_meta: dict[str, Any] | None = None,
        origin: str = "response",
        tradition: str | None = None,
        query_id: str | None = None,
        context_rows: int = 0,
    ) -> ItemTurn:
        """Commit `inputs` chained under `parent_id` (default: the head) and a reply placeholder
        after them, under the chat's lock; a new chat (of `origin`) when `chat_id` is None. With
        `context_rows`, the same transaction also reads the context's first page (`Preloaded`)."""
        now = utcnow()
        query_id = query_id or new_id(QUERY)  # a regenerated reply shares its question's
        inputs = [_with_query(m, query_id) for m in inputs]
        placeholder = reply_placeholder(query_id, self.instance_id, reply_meta)
        if chat_id is None:
            async with self.db.session(write=True) as session:
                chat = chat_row(client_id, now, origin=origin, tradition=tradition)
                session.add(chat)
                rows = _chain(chat, [*inputs, placeholder], None, now)
                session.add_all(rows)
                chat.head_message_id = rows[-1].id
            return ItemTurn(
                chat_of(chat), [message_of(r) for r in rows[:-1]], message_of(rows[-1]), True
            )
        if parent_id is UNSET and self.db.dialect == "postgresql":
            # After the head, in one autocommitted statement (append_pg).
            chat, stored = await append_chain(
                self.db, client_id, chat_id, [*inputs, placeholder], now
            )
            turn = ItemTurn(chat, stored[:-1], stored[-1])
            if context_rows:
                turn.preloaded = await self.preload(chat, context_rows, turn.reply)
            await self._invalidate(chat_id)
            return turn
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            parent = chat.head_message_id if parent_id is UNSET else parent_id
            if parent != chat.head_message_id:
                owner = await session.get(MessageRow, parent) if parent is not None else None
                if parent is not None and (owner is None or owner.chat_id != chat.id):
                    raise MessageNotFound(f"item {parent!r} not found")
                chat.branched = True  # a fork: history now follows parent links
            rows = _chain(chat, [*inputs, placeholder], parent, now)
            session.add_all(rows)
            chat.head_message_id = rows[-1].id
            turn = ItemTurn(chat_of(chat), [message_of(r) for r in rows[:-1]], message_of(rows[-1]))
            if context_rows:
                await session.flush()
                summaries = await self._latest_summaries(session, chat.id, 8)
                recent = await self._recent(session, turn.chat, context_rows, turn.reply)
                turn.preloaded = Preloaded(summaries, recent)
        await self._invalidate(chat_id)
        return turn

    async def append_items(
        self, client_id: str, chat_id: str, items: Sequence[NewMessage]
    ) -> list[StoredMessage]:
        """Items added to a conversation by hand (`POST .../items`), after the head."""
        now = utcnow()
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            rows = _chain(chat, list(items), chat.head_message_id, now)
            session.add_all(rows)
            if rows:
                chat.head_message_id = rows[-1].id
        await self._invalidate(chat_id)
        return [message_of(r) for r in rows]

    async def find_message(self, client_id: str, message_id: str) -> tuple[Chat, StoredMessage]:
        """A message of any chat this client owns; another client's is not found."""
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(MessageRow, ChatRow)
                    .join(ChatRow, ChatRow.id == MessageRow.chat_id)
                    .where(MessageRow.id == message_id, ChatRow.client_id == client_id)
                )
            ).first()
        if found is None:
            raise MessageNotFound(f"{message_id!r} not found")
        message, chat = found
        return chat_of(chat), message_of(message, stale_cutoff(self.stale_after))

    async def branch(
        self, chat: Chat, leaf_id: str | None, *, limit: int = MAX_BRANCH
    ) -> list[StoredMessage]:
        """The messages from the root to `leaf_id` (inclusive), oldest first."""
        if leaf_id is None:
            return []
        stale = stale_cutoff(self.stale_after)
        async with self.db.session() as session:
            if not chat.branched and leaf_id == chat.head_message_id:
                query = select(MessageRow).where(MessageRow.chat_id == chat.id)
                query = query.order_by(MessageRow.seq.desc()).limit(limit)
            else:
                query = branch_walk(chat.id, leaf_id, limit)
            rows = list((await session.execute(query)).scalars())
        return [message_of(r, stale) for r in reversed(rows)]

    async def discard_turn(self, chat_id: str, query_id: str, *, drop_chat: bool) -> None:
        """Undo a turn refused before the model ran (nothing half-written stays): its rows,
        and the chat too when the turn created it."""
        async with self.db.session(write=True) as session:
            chat = await session.get(ChatRow, chat_id)
            if chat is None:
                return
            if drop_chat:
                await session.delete(chat)
                return
            rows = list(
                (
                    await session.execute(
                        select(MessageRow).where(
                            MessageRow.chat_id == chat_id, MessageRow.query_id == query_id
                        )
                    )
                ).scalars()
            )
            ids = {r.id for r in rows}
            first = min(rows, key=lambda r: r.seq) if rows else None
            if chat.head_message_id in ids:
                chat.head_message_id = first.parent_id if first else chat.head_message_id
            for row in rows:
                await session.delete(row)
            await session.execute(
                update(ChatRow).where(ChatRow.id == chat_id).values(updated_at=utcnow())
            )
        await self._invalidate(chat_id)


def _with_query(message: NewMessage, query_id: str) -> NewMessage:
    message.query_id = query_id
    return message


def _chain(
    chat: ChatRow, messages: list[NewMessage], parent: str | None, now: Any
) -> list[MessageRow]:
    """Rows for `messages`, each the child of the one before, seqs taken from the chat."""
    rows = []
    for message in messages:
        chat.last_seq = (chat.last_seq or 0) + 1
        row = new_row(
            message,
            message_id=message.id or new_id(MESSAGE),
            chat_id=chat.id,
            seq=chat.last_seq,
            parent_id=parent,
            now=now,
        )
        rows.append(row)
        parent = row.id
    chat.updated_at = now
    return rows
