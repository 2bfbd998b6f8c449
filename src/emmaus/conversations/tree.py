"""Reading the message tree: a message's siblings, the whole tree with the active branch marked,
the newest leaf under a message, and the replies an id names (for stopping one). A mixin of
`ConversationManager`; every query names the owning client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from emmaus.conversations.rows import chat_of, message_of, owned_chat, stale_cutoff
from emmaus.conversations.schema import ChatRow, MessageRow
from emmaus.conversations.types import Chat, ChatTree, Siblings, StoredMessage
from emmaus.errors import MessageNotFound
from emmaus.store import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

_M = MessageRow.__table__


class TreeOps:
    db: Database
    stale_after: float

    async def message(self, client_id: str, chat_id: str, message_id: str) -> StoredMessage:
        """One message of this client's chat (`MessageNotFound` when it is not in that chat)."""
        async with self.db.session() as session:
            await owned_chat(session, client_id, chat_id)
            row = await session.get(MessageRow, message_id)
            if row is None or row.chat_id != chat_id:
                raise MessageNotFound(f"message {message_id!r} not found in chat {chat_id!r}")
            return message_of(row, stale_cutoff(self.stale_after))

    async def siblings(self, client_id: str, chat_id: str, message_id: str) -> Siblings:
        stale = stale_cutoff(self.stale_after)
        async with self.db.session() as session:
            chat = await owned_chat(session, client_id, chat_id)
            row = await session.get(MessageRow, message_id)
            if row is None or row.chat_id != chat_id:
                raise MessageNotFound(f"message {message_id!r} not found in chat {chat_id!r}")
            parent = (
                MessageRow.parent_id.is_(None)
                if row.parent_id is None
                else MessageRow.parent_id == row.parent_id
            )
            query = select(MessageRow).where(
                MessageRow.chat_id == chat_id, parent, MessageRow.role == row.role
            )
            rows = list((await session.execute(query.order_by(MessageRow.seq))).scalars())
            # Only the part of the active path at or below this fork can hold a sibling.
            active = await active_ids(session, chat, since_seq=rows[0].seq)
        messages = [message_of(r, stale) for r in rows]
        active_id = next((m.id for m in messages if m.id in active), None)
        return Siblings(message_of(row, stale), messages, active_id)

    async def tree(self, client_id: str, chat_id: str) -> ChatTree:
        stale = stale_cutoff(self.stale_after)
        async with self.db.session() as session:
            chat = await owned_chat(session, client_id, chat_id)
            query = select(MessageRow).where(MessageRow.chat_id == chat_id)
            rows = list((await session.execute(query.order_by(MessageRow.seq))).scalars())
            active = await active_ids(session, chat) if chat.branched else {r.id for r in rows}
        return ChatTree(chat_of(chat), [message_of(r, stale) for r in rows], active)

    async def replies_for(
        self, client_id: str, message_id: str, *, chat_id: str | None = None
    ) -> tuple[Chat, list[StoredMessage]]:
        """The replies `message_id` names, oldest first: a reply itself, the replies to a user
        turn, or every reply of an exchange (a query id). `MessageNotFound` for an id this
        client has no message for (in `chat_id`, when given)."""
        stale = stale_cutoff(self.stale_after)
        match = or_(MessageRow.id == message_id, MessageRow.query_id == message_id)
        async with self.db.session() as session:
            # An unknown chat is a ChatNotFound, before any message is looked for.
            chat = await owned_chat(session, client_id, chat_id) if chat_id else None
            query = (
                select(MessageRow)
                .join(ChatRow, ChatRow.id == MessageRow.chat_id)
                .where(match, ChatRow.client_id == client_id)
            )
            if chat_id:
                query = query.where(MessageRow.chat_id == chat_id)
            rows = list((await session.execute(query.order_by(MessageRow.seq))).scalars())
            if not rows:
                raise MessageNotFound(f"message {message_id!r} not found")
            chat = chat or await owned_chat(session, client_id, rows[0].chat_id)
            named = next((r for r in rows if r.id == message_id), None)
            if named is not None and named.role == "user":
                children = select(MessageRow).where(
                    MessageRow.chat_id == named.chat_id,
                    MessageRow.parent_id == named.id,
                    MessageRow.role == "assistant",
                )
                rows = list((await session.execute(children.order_by(MessageRow.seq))).scalars())
            elif named is not None:
                rows = [named]
            else:
                rows = [r for r in rows if r.role == "assistant" and r.chat_id == chat.id]
        return chat_of(chat), [message_of(r, stale) for r in rows]


async def active_ids(session: AsyncSession, chat: ChatRow, *, since_seq: int = 0) -> set[str]:
    """Ids on the active branch with seq >= `since_seq`: a walk up from the head along
    `parent_id` that stops below `since_seq` (parents always have smaller seqs)."""
    if chat.head_message_id is None:
        return set()
    seed = select(_M.c.id, _M.c.parent_id).where(
        _M.c.id == chat.head_message_id, _M.c.chat_id == chat.id
    )
    walk = seed.cte("active_path", recursive=True)
    step = (
        select(_M.c.id, _M.c.parent_id)
        .select_from(_M.join(walk, _M.c.id == walk.c.parent_id))
        .where(_M.c.chat_id == chat.id, _M.c.seq >= since_seq)
    )
    walk = walk.union_all(step)
    return set((await session.execute(select(walk.c.id))).scalars())


async def newest_leaf(session: AsyncSession, chat_id: str, message_id: str) -> str:
    """The newest message under `message_id` (itself when it has none). A child is always
    written after its parent, so the highest seq below a message is a leaf."""
    seed = select(_M.c.id, _M.c.seq).where(_M.c.id == message_id, _M.c.chat_id == chat_id)
    below = seed.cte("subtree", recursive=True)
    step = (
        select(_M.c.id, _M.c.seq)
        .select_from(_M.join(below, _M.c.parent_id == below.c.id))
        .where(_M.c.chat_id == chat_id)
    )
    below = below.union_all(step)
    query = select(below.c.id).order_by(below.c.seq.desc()).limit(1)
    leaf = (await session.execute(query)).scalar_one_or_none()
    return leaf or message_id
