"""The chats themselves: create, read, rename, pin, delete and list (newest activity first,
with an opaque cursor). A mixin of `ConversationManager`; every query names the owning client."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.conversations.rows import chat_of, chat_row, locked_chat, owned_chat
from emmaus.conversations.schema import ChatRow
from emmaus.conversations.types import Chat, ChatPage
from emmaus.errors import ChatNotFound, InvalidChatOperation
from emmaus.store import Database, utcnow

UNSET: Any = object()


class ChatOps:
    db: Database

    async def _invalidate(self, chat_id: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def _owned(self, session: AsyncSession, client_id: str, chat_id: str) -> ChatRow:
        return await owned_chat(session, client_id, chat_id)

    async def create_chat(
        self,
        client_id: str,
        *,
        title: str | None = None,
        tradition: str | None = None,
        pin: bool = False,
        summary: str | None = None,
    ) -> Chat:
        now = utcnow()
        row = chat_row(client_id, now, title=title, tradition=tradition, pin=pin, summary=summary)
        async with self.db.session() as session:
            session.add(row)
        return chat_of(row)

    async def get_chat(self, client_id: str, chat_id: str) -> Chat:
        async with self.db.session() as session:
            return chat_of(await self._owned(session, client_id, chat_id))

    async def update_chat(
        self,
        client_id: str,
        chat_id: str,
        *,
        title: str | None = UNSET,
        pin: bool = UNSET,
        summary: str | None = UNSET,
        tradition: str | None = UNSET,
    ) -> Chat:
        """Rename, pin/unpin, set the caller's summary or the chat's tradition."""
        values = {
            k: v
            for k, v in {
                "title": title,
                "pin": pin,
                "summary": summary,
                "tradition": tradition,
            }.items()
            if v is not UNSET
        }
        async with locked_chat(self.db, client_id, chat_id) as (_, row):
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = utcnow()
        return chat_of(row)

    async def delete_chat(self, client_id: str, chat_id: str) -> None:
        """The chat and everything in it (messages, summaries, idempotency keys cascade)."""
        async with self.db.session(write=True) as session:
            result = await session.execute(
                delete(ChatRow).where(ChatRow.id == chat_id, ChatRow.client_id == client_id)
            )
            if result.rowcount == 0:  # type: ignore[attr-defined]
                raise ChatNotFound(f"chat {chat_id!r} not found")
        await self._invalidate(chat_id)

    async def list_chats(
        self, client_id: str, *, limit: int = 20, cursor: str | None = None
    ) -> ChatPage:
        """Newest activity first; pass `next_cursor` back to get the following page."""
        if not 1 <= limit <= 100:
            raise InvalidChatOperation("limit must be between 1 and 100")
        query = select(ChatRow).where(ChatRow.client_id == client_id)
        if cursor:
            moment, chat_id = _decode_cursor(cursor)
            query = query.where(
                or_(
                    ChatRow.updated_at < moment,
                    and_(ChatRow.updated_at == moment, ChatRow.id < chat_id),
                )
            )
        query = query.order_by(ChatRow.updated_at.desc(), ChatRow.id.desc()).limit(limit + 1)
        async with self.db.session() as session:
            rows = list((await session.execute(query)).scalars())
        chats = [chat_of(r) for r in rows[:limit]]
        more = len(rows) > limit
        return ChatPage(chats, _encode_cursor(chats[-1]) if more and chats else None)

    async def set_title_if_missing(self, chat_id: str, title: str) -> bool:
        async with self.db.session(write=True) as session:
            result = await session.execute(
                update(ChatRow)
                .where(ChatRow.id == chat_id, ChatRow.title.is_(None))
                .values(title=title)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]


def _encode_cursor(chat: Chat) -> str:
    raw = f"{chat.updated_at.isoformat()}|{chat.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, chat_id = raw.split("|", 1)
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None or "\x00" in chat_id:  # ours always carry a zone
            raise ValueError("forged cursor")
        return when, chat_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidChatOperation("cursor is not one this server handed out") from exc
