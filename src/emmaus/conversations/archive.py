"""The summaries, import and maintenance side of `ConversationManager` (mixed into it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.conversations.ids import MESSAGE, SUMMARY, new_id
from emmaus.conversations.rows import (
    STALE_ERROR,
    chat_of,
    chat_row,
    new_row,
    owned_chat,
    stale_cutoff,
    summary_of,
)
from emmaus.conversations.schema import FAILED, PENDING, MessageRow, SummaryRow
from emmaus.conversations.types import Chat, NewMessage, StoredMessage, Summary
from emmaus.errors import InvalidChatOperation
from emmaus.store import Database, utcnow

_IMPORT_BATCH = 1000


class ArchiveOps:
    db: Database
    stale_after: float

    # -- summaries -----------------------------------------------------------------------------

    async def add_summary(
        self,
        chat_id: str,
        covered: Sequence[StoredMessage],
        content: str,
        token_count: int,
        model: str | None = None,
        *,
        extends: Summary | None = None,
    ) -> Summary:
        """Store a summary replacing `covered` (oldest first) in future contexts. A summary that
        `extends` an older one (its text was condensed in too) also names the older range."""
        if not covered:
            raise InvalidChatOperation("a summary must cover at least one message")
        first_seq, first_id, count = covered[0].seq, covered[0].id, len(covered)
        if extends is not None:
            first_seq, first_id = extends.from_seq, extends.first_message_id
            count += extends.message_count
        row = SummaryRow(
            id=new_id(SUMMARY),
            chat_id=chat_id,
            from_seq=first_seq,
            to_seq=covered[-1].seq,
            first_message_id=first_id,
            last_message_id=covered[-1].id,
            message_count=count,
            content=content,
            token_count=token_count,
            model=model,
            created_at=utcnow(),
        )
        async with self.db.session(write=True) as session:
            session.add(row)
        return summary_of(row)

    async def latest_summaries(self, chat_id: str, limit: int = 8) -> list[Summary]:
        async with self.db.session() as session:
            return await self._latest_summaries(session, chat_id, limit)

    async def _latest_summaries(
        self, session: AsyncSession, chat_id: str, limit: int
    ) -> list[Summary]:
        query = (
            select(SummaryRow)
            .where(SummaryRow.chat_id == chat_id)
            .order_by(SummaryRow.to_seq.desc())
            .limit(limit)
        )
        return [summary_of(r) for r in (await session.execute(query)).scalars()]

    async def summaries(self, client_id: str, chat_id: str) -> list[Summary]:
        async with self.db.session() as session:
            await owned_chat(session, client_id, chat_id)
            query = select(SummaryRow).where(SummaryRow.chat_id == chat_id)
            rows = (await session.execute(query.order_by(SummaryRow.to_seq))).scalars()
            return [summary_of(r) for r in rows]

    # -- import and maintenance ----------------------------------------------------------------

    async def import_chat(
        self,
        client_id: str,
        messages: Sequence[NewMessage],
        *,
        title: str | None = None,
        summary: str | None = None,
        pin: bool = False,
        tradition: str | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        chat_id: str | None = None,
    ) -> Chat:
        """A whole chat in one transaction (exports from Gloo, seeding): `messages` oldest first
        become one linear branch with seq 1..n. `chat_id` and each message's `id` keep the ids
        an exported chat had, so callers holding them carry on; a clash raises
        `InvalidChatOperation` and writes nothing."""
        now = utcnow()
        chat = chat_row(client_id, created_at or now, title=title, tradition=tradition, pin=pin)
        if chat_id:
            chat.id = chat_id
        chat.summary = summary
        chat.updated_at = updated_at or (messages[-1].created_at if messages else None) or now
        rows: list[dict[str, Any]] = []
        parent = None
        for seq, message in enumerate(messages, start=1):
            row = new_row(
                message,
                message_id=message.id or new_id(MESSAGE),
                chat_id=chat.id,
                seq=seq,
                parent_id=parent,
                now=now,
            )
            rows.append({c.key: getattr(row, c.key) for c in MessageRow.__table__.columns})
            parent = row.id
        chat.last_seq = len(rows)
        chat.head_message_id = parent
        try:
            async with self.db.session(write=True) as session:
                session.add(chat)
                await session.flush()
                for start in range(0, len(rows), _IMPORT_BATCH):
                    await session.execute(insert(MessageRow), rows[start : start + _IMPORT_BATCH])
        except IntegrityError as exc:
            raise InvalidChatOperation(
                f"chat {chat.id!r} or one of its message ids is already stored"
            ) from exc
        return chat_of(chat)

    async def sweep_stale(self) -> int:
        """Mark placeholders older than `stale_after` failed (their server died mid-turn)."""
        async with self.db.session(write=True) as session:
            result = await session.execute(
                update(MessageRow)
                .where(
                    MessageRow.status == PENDING,
                    MessageRow.created_at < stale_cutoff(self.stale_after),
                )
                .values(status=FAILED, error=STALE_ERROR)
            )
            return int(result.rowcount or 0)  # type: ignore[attr-defined]
