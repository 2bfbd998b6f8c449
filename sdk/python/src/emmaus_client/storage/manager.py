"""`ConversationManager`: the migration guide's conversation store over the application's own
SQLAlchemy database (SQLite or PostgreSQL). Every write to a conversation locks its row first,
so concurrent writers take turns and `seq` never collides."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from emmaus_client.storage import context, migrations, rows, schema, writes
from emmaus_client.storage.records import (
    ACTIVE,
    Context,
    Conversation,
    ConversationNotFound,
    DuplicateSource,
    MessageNotFound,
    NewMessage,
    StoredMessage,
    utc,
)

C, M = schema.conversations, schema.messages

Summarizer = Callable[[str | None, list[StoredMessage]], Awaitable[str]]
"""`summarizer(previous_summary, messages) -> new summary`: folds `messages` into the summary."""

_UNSET: Any = object()


def async_url(url: str) -> str:
    """`sqlite:///x.db` and `postgresql://...` as SQLAlchemy's async drivers spell them."""
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


def _sqlite_foreign_keys(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


@dataclass(slots=True)
class LockedConversation:
    """A conversation whose row this transaction holds (see `ConversationManager.locked`)."""

    manager: ConversationManager
    connection: AsyncConnection
    conversation: Conversation

    async def history(self, leaf_id: str | None = None) -> list[StoredMessage]:
        found = await rows.all_messages(self.connection, self.conversation.id)
        return rows.branch(found, leaf_id or self.conversation.head_message_id)

    async def context(self, budget_tokens: int, system: str | None = None) -> Context:
        return context.assemble(self.conversation, await self.history(), budget_tokens, system)

    async def set_meta(self, meta: dict[str, Any]) -> None:
        """Replace the conversation's `meta` within this transaction."""
        query = update(C).where(C.c.id == self.conversation.id).values(meta=meta)
        await self.connection.execute(query)
        self.conversation = await rows.lock_conversation(self.connection, self.conversation.id)

    async def add_messages(
        self, messages: Sequence[NewMessage], *, activate: bool = True
    ) -> list[StoredMessage]:
        stored = await writes.insert_messages(
            self.connection, self.conversation, messages, activate
        )
        if activate and stored:
            self.conversation = await rows.lock_conversation(self.connection, self.conversation.id)
        return stored


class ConversationManager:
    """Conversations and their messages in the application's database.

    `ConversationManager("sqlite:///chats.db")` (or any SQLAlchemy URL, or an `AsyncEngine` the
    application already has); `await manager.migrate()` creates or upgrades the tables (or use
    `await ConversationManager.open(url)`, which does both)."""

    def __init__(self, engine: AsyncEngine | str) -> None:
        self._owns_engine = isinstance(engine, str)
        if isinstance(engine, str):
            engine = create_async_engine(async_url(engine))
        self.engine = engine
        if engine.dialect.name == "sqlite":
            _sqlite_foreign_keys(engine)

    @classmethod
    async def open(cls, engine: AsyncEngine | str) -> ConversationManager:
        manager = cls(engine)
        await manager.migrate()
        return manager

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self) -> int:
        """Create or upgrade the tables; returns the schema version. Safe at every start."""
        return await migrations.migrate(self.engine)

    async def aclose(self) -> None:
        """Dispose of the engine if the manager created it (an engine passed in is the
        application's to close)."""
        if self._owns_engine:
            await self.engine.dispose()

    async def __aenter__(self) -> ConversationManager:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    # -- conversations -------------------------------------------------------------------------

    async def create_conversation(
        self,
        user_id: str,
        *,
        title: str | None = None,
        tradition: str | None = None,
        model: str | None = None,
        source_id: str | None = None,
        meta: dict[str, Any] | None = None,
        created_at: datetime | None = None,
        conversation_id: str | None = None,
    ) -> Conversation:
        """A new, empty conversation. A `source_id` already stored raises `DuplicateSource`."""
        moment = utc(created_at) if created_at else rows.now()
        values = {
            "id": conversation_id or uuid.uuid4().hex,
            "user_id": user_id,
            "title": title,
            "tradition": tradition,
            "model": model,
            "source_id": source_id,
            "meta": meta or {},
            "next_seq": 1,
            "created_at": moment,
            "updated_at": moment,
        }
        try:
            async with self.engine.begin() as connection:
                await connection.execute(insert(C).values(**values))
        except IntegrityError as exc:
            if source_id is not None and await self.find_conversation(source_id=source_id):
                raise DuplicateSource(source_id) from exc
            raise
        return await self.get_conversation(values["id"])

    async def get_conversation(
        self, conversation_id: str, *, user_id: str | None = None
    ) -> Conversation:
        """The conversation; with `user_id`, only if it is that user's (else not found)."""
        query = select(C).where(C.c.id == conversation_id)
        if user_id is not None:
            query = query.where(C.c.user_id == user_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        if row is None:
            raise ConversationNotFound(f"conversation {conversation_id!r} not found")
        return rows.conversation_of(row)

    async def find_conversation(self, *, source_id: str) -> Conversation | None:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(C).where(C.c.source_id == source_id))).first()
        return rows.conversation_of(row) if row else None

    async def list_conversations(
        self, user_id: str, *, limit: int = 50, offset: int = 0
    ) -> list[Conversation]:
        """The user's conversations, most recently active first."""
        query = (
            select(C)
            .where(C.c.user_id == user_id)
            .order_by(C.c.updated_at.desc(), C.c.id)
            .limit(limit)
            .offset(offset)
        )
        async with self.engine.connect() as connection:
            return [rows.conversation_of(r) for r in await connection.execute(query)]

    async def update_conversation(
        self,
        conversation_id: str,
        *,
        title: str | None = _UNSET,
        tradition: str | None = _UNSET,
        model: str | None = _UNSET,
        summary: str | None = _UNSET,
        meta: dict[str, Any] = _UNSET,
    ) -> Conversation:
        """Change the named fields (the others stay); `meta` replaces the whole mapping."""
        given = {"title": title, "tradition": tradition, "model": model, "meta": meta}
        values = {k: v for k, v in given.items() if v is not _UNSET}
        if summary is not _UNSET:  # a summary set by hand stands for the whole active branch
            values["summary"] = summary
            values["summary_through_id"] = C.c.head_message_id if summary else None
        values["updated_at"] = rows.now()
        async with self.engine.begin() as connection:
            await rows.lock_conversation(connection, conversation_id)
            await connection.execute(update(C).where(C.c.id == conversation_id).values(**values))
        return await self.get_conversation(conversation_id)

    async def delete_conversation(self, conversation_id: str) -> bool:
        """Delete it with its messages; False when there was none."""
        async with self.engine.begin() as connection:
            await connection.execute(delete(M).where(M.c.conversation_id == conversation_id))
            done = await connection.execute(delete(C).where(C.c.id == conversation_id))
        return bool(done.rowcount)

    # -- messages ------------------------------------------------------------------------------

    async def add_message(
        self,
        conversation_id: str,
        role: str,
        content: str,
        *,
        tokens_used: int | None = None,
        model: str | None = None,
        parent_id: Any = ACTIVE,
        message_id: str | None = None,
        source_id: str | None = None,
        meta: dict[str, Any] | None = None,
        created_at: datetime | None = None,
        activate: bool = True,
    ) -> StoredMessage:
        """Append one message (by default to the active branch, which it then ends)."""
        new = NewMessage(
            role, content, tokens_used, model, message_id, parent_id, source_id, meta or {},
            created_at,
        )  # fmt: skip
        [stored] = await self.add_messages(conversation_id, [new], activate=activate)
        return stored

    async def add_messages(
        self, conversation_id: str, messages: Sequence[NewMessage], *, activate: bool = True
    ) -> list[StoredMessage]:
        """Add `messages` in one transaction, in order (all or none). With `activate` the last
        one becomes the head of the active branch."""
        async with self.locked(conversation_id) as held:
            return await held.add_messages(messages, activate=activate)

    @asynccontextmanager
    async def locked(
        self, conversation_id: str, *, user_id: str | None = None
    ) -> AsyncIterator[LockedConversation]:
        """A transaction holding the conversation's row lock (`SELECT ... FOR UPDATE` on
        PostgreSQL): read, decide and write without another writer in between. Committed on
        leaving, rolled back on an exception."""
        async with self.engine.begin() as connection:
            conversation = await rows.lock_conversation(connection, conversation_id, user_id)
            yield LockedConversation(self, connection, conversation)

    async def get_message(self, message_id: str) -> StoredMessage:
        async with self.engine.connect() as connection:
            row = (await connection.execute(select(M).where(M.c.id == message_id))).first()
        if row is None:
            raise MessageNotFound(f"message {message_id!r} not found")
        return rows.message_of(row)

    async def find_message(self, conversation_id: str, *, source_id: str) -> StoredMessage | None:
        query = select(M).where(M.c.conversation_id == conversation_id, M.c.source_id == source_id)
        async with self.engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return rows.message_of(row) if row else None

    async def get_history(
        self, conversation_id: str, *, leaf_id: str | None = None
    ) -> list[StoredMessage]:
        """The active branch (or the branch ending at `leaf_id`), oldest first."""
        conversation = await self.get_conversation(conversation_id)
        return rows.branch(
            await self.get_tree(conversation_id), leaf_id or conversation.head_message_id
        )

    async def get_tree(self, conversation_id: str) -> list[StoredMessage]:
        """Every message of every branch, in the order they were stored (`seq`)."""
        async with self.engine.connect() as connection:
            return await rows.all_messages(connection, conversation_id)

    async def count_messages(self, conversation_id: str) -> int:
        query = select(func.count()).select_from(M).where(M.c.conversation_id == conversation_id)
        async with self.engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def set_head(self, conversation_id: str, message_id: str) -> None:
        """Make the branch ending at `message_id` the active one."""
        async with self.locked(conversation_id) as held:
            owner = await held.connection.execute(
                select(M.c.conversation_id).where(M.c.id == message_id)
            )
            if owner.scalar() != conversation_id:
                raise MessageNotFound(f"message {message_id!r} not found in {conversation_id!r}")
            await held.connection.execute(
                update(C)
                .where(C.c.id == conversation_id)
                .values(head_message_id=message_id, updated_at=rows.now())
            )

    # -- context and summaries -----------------------------------------------------------------

    async def build_context(
        self, conversation_id: str, *, budget_tokens: int, system: str | None = None
    ) -> Context:
        """System prompt, summary, then the newest messages of the active branch that fit
        `budget_tokens` (counted from the stored `tokens_used`)."""
        conversation = await self.get_conversation(conversation_id)
        path = rows.branch(await self.get_tree(conversation_id), conversation.head_message_id)
        return context.assemble(conversation, path, budget_tokens, system)

    async def summarize(
        self, conversation_id: str, summarizer: Summarizer, *, keep_tokens: int
    ) -> str | None:
        """Fold the active branch's older messages (all but the newest `keep_tokens` tokens)
        into the conversation's summary with `summarizer`; returns the new summary, or None
        when nothing needed condensing. The model call runs outside any lock."""
        conversation = await self.get_conversation(conversation_id)
        path = rows.branch(await self.get_tree(conversation_id), conversation.head_message_id)
        older = context.to_condense(conversation, path, keep_tokens)
        if not older:
            return None
        previous = conversation.summary if context.unsummarized(conversation, path) else None
        summary = (await summarizer(previous, older)).strip()
        if not summary:
            return None
        async with self.locked(conversation_id) as held:
            await held.connection.execute(
                update(C)
                .where(C.c.id == conversation_id)
                .values(summary=summary, summary_through_id=older[-1].id)
            )
        return summary
