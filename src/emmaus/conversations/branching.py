"""The message tree: editing a user turn starts a new branch, regenerating a reply adds a
sibling, deleting a message re-links its children, and `head_message_id` names the active leaf."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, or_, select, update

from emmaus.conversations.ids import MESSAGE, QUERY, new_id
from emmaus.conversations.rows import chat_of, locked_chat, message_of, new_row, reply_placeholder
from emmaus.conversations.schema import (
    ChatRow,
    IdempotencyRow,
    MessageRow,
    SummaryRow,
)
from emmaus.conversations.tree import newest_leaf
from emmaus.conversations.types import Chat, NewMessage, Turn
from emmaus.errors import InvalidChatOperation, MessageNotFound
from emmaus.store import Database, utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class BranchOps:
    """Mixed into `ConversationManager`."""

    db: Database
    instance_id: str | None

    async def _invalidate(self, chat_id: str) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def edit_user_turn(
        self, client_id: str, chat_id: str, message_id: str, edited: NewMessage
    ) -> Turn:
        """A new user turn beside `message_id` (same parent) with a fresh reply placeholder; the
        new branch becomes the active one. The original branch stays in the history."""
        now = utcnow()
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            original = await _message_in(session, chat_id, message_id)
            if original.role != "user":
                raise InvalidChatOperation(f"message {message_id!r} is not a user turn")
            edited.query_id = edited.query_id or new_id(QUERY)
            seq = chat.last_seq + 1
            user = new_row(
                edited,
                message_id=new_id(MESSAGE),
                chat_id=chat_id,
                seq=seq,
                parent_id=original.parent_id,
                now=now,
            )
            reply = _placeholder(chat_id, seq + 1, user.id, edited.query_id, now, self.instance_id)
            session.add_all([user, reply])
            chat.last_seq, chat.head_message_id, chat.branched = seq + 1, reply.id, True
            chat.updated_at = now
        await self._invalidate(chat_id)
        return Turn(chat_of(chat), message_of(user), message_of(reply))

    async def regenerate(self, client_id: str, chat_id: str, reply_id: str) -> Turn:
        """A new reply placeholder beside `reply_id` (same question, same query_id), made the
        active branch; generate it and settle it with `finish_reply`."""
        now = utcnow()
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            original = await _message_in(session, chat_id, reply_id)
            if original.role != "assistant" or original.parent_id is None:
                raise InvalidChatOperation(f"message {reply_id!r} is not a reply")
            question = await _message_in(session, chat_id, original.parent_id)
            chat.last_seq += 1
            reply = _placeholder(
                chat_id, chat.last_seq, question.id, original.query_id, now, self.instance_id
            )
            session.add(reply)
            chat.head_message_id, chat.branched, chat.updated_at = reply.id, True, now
        await self._invalidate(chat_id)
        return Turn(chat_of(chat), message_of(question), message_of(reply))

    async def switch_branch(self, client_id: str, chat_id: str, message_id: str) -> Chat:
        """Make the branch through `message_id` the active one: the head moves to the newest
        leaf under it, so the whole branch below it comes back. Returns the chat as it is now."""
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            await _message_in(session, chat_id, message_id)
            leaf = await newest_leaf(session, chat_id, message_id)
            if leaf != chat.head_message_id:
                chat.head_message_id, chat.branched, chat.updated_at = leaf, True, utcnow()
        await self._invalidate(chat_id)
        return chat_of(chat)

    async def set_head(self, client_id: str, chat_id: str, message_id: str) -> None:
        """Make the branch ending at `message_id` the active one."""
        async with locked_chat(self.db, client_id, chat_id) as (session, chat):
            await _message_in(session, chat_id, message_id)
            chat.head_message_id, chat.branched, chat.updated_at = message_id, True, utcnow()
        await self._invalidate(chat_id)

    async def delete_messages(
        self, client_id: str, *, message_id: str | None = None, query_id: str | None = None
    ) -> list[str]:
        """Delete one message, or every message of an exchange (`query_id`). Children are
        re-linked to the deleted message's parent, so the branch stays whole; summaries that
        covered a deleted message are dropped (they would still tell its content)."""
        if not message_id and not query_id:
            raise InvalidChatOperation("give message_id or query_id")
        match = MessageRow.id == message_id if message_id else MessageRow.query_id == query_id
        async with self.db.session() as session:
            found = (
                await session.execute(
                    select(MessageRow.chat_id)
                    .join(ChatRow, ChatRow.id == MessageRow.chat_id)
                    .where(match, ChatRow.client_id == client_id)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if found is None:
            raise MessageNotFound(f"message {message_id or query_id!r} not found")
        async with locked_chat(self.db, client_id, found) as (session, chat):
            targets = list(
                (
                    await session.execute(
                        select(MessageRow)
                        .where(MessageRow.chat_id == found, match)
                        .order_by(MessageRow.seq.desc())
                    )
                ).scalars()
            )
            for target in targets:
                await session.execute(
                    update(MessageRow)
                    .where(MessageRow.chat_id == found, MessageRow.parent_id == target.id)
                    .values(parent_id=target.parent_id)
                )
                if chat.head_message_id == target.id:
                    chat.head_message_id = target.parent_id
                await session.delete(target)
                await session.flush()
            seqs = [t.seq for t in targets]
            await session.execute(
                delete(SummaryRow).where(
                    SummaryRow.chat_id == found,
                    or_(*((SummaryRow.from_seq <= s) & (SummaryRow.to_seq >= s) for s in seqs)),
                )
            )
            queries = {t.query_id for t in targets if t.query_id}
            if queries:
                await session.execute(
                    delete(IdempotencyRow).where(
                        IdempotencyRow.chat_id == found, IdempotencyRow.query_id.in_(queries)
                    )
                )
            chat.updated_at = utcnow()
        await self._invalidate(found)
        return [t.id for t in reversed(targets)]


async def _message_in(session: AsyncSession, chat_id: str, message_id: str) -> MessageRow:
    row = await session.get(MessageRow, message_id)
    if row is None or row.chat_id != chat_id:
        raise MessageNotFound(f"message {message_id!r} not found in chat {chat_id!r}")
    return row


def _placeholder(
    chat_id: str,
    seq: int,
    parent_id: str,
    query_id: str | None,
    now: object,
    lease_owner: str | None,
) -> MessageRow:
    pending = reply_placeholder(query_id, lease_owner)
    return new_row(
        pending,
        message_id=new_id(MESSAGE),
        chat_id=chat_id,
        seq=seq,
        parent_id=parent_id,
        now=now,  # type: ignore[arg-type]
    )
