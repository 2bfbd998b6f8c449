"""One page of a chat's active branch, newest first, with each message's place among its
versions (the "< 2/3 >" of a branching UI): what a page opening a long chat reads first, then
again for each older page. O(page): a walk along `parent_id` (or an index range on an unbranched
chat) and one indexed lookup of the page's siblings, never the whole chat.

```python
page = await read_page(db, client_id, chat_id, limit=50)          # the newest 50
older = await read_page(db, client_id, chat_id, limit=50, before=page.oldest_id)
```
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import or_, select

from emmaus.conversations.rows import branch_walk, chat_of, message_of, owned_chat, stale_cutoff
from emmaus.conversations.schema import MessageRow
from emmaus.conversations.types import Chat, StoredMessage
from emmaus.errors import MessageNotFound
from emmaus.store import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

_VISIBLE_ROLES = ("user", "assistant")


@dataclass(frozen=True, slots=True)
class Versions:
    """Where a message stands among its siblings (same parent, same role), oldest first."""

    position: int  # 1-based
    count: int
    ids: tuple[str, ...]  # every sibling, so a client can step between them without asking


@dataclass(slots=True)
class HistoryPage:
    chat: Chat
    messages: list[StoredMessage]  # oldest first within the page
    versions: dict[str, Versions] = field(default_factory=dict)
    has_more: bool = False  # older messages exist before the page

    @property
    def oldest_id(self) -> str | None:
        return self.messages[0].id if self.messages else None


def _visible(message: StoredMessage) -> bool:
    return message.role in _VISIBLE_ROLES and not message.tool_calls


async def read_page(
    db: Database,
    client_id: str,
    chat_id: str,
    *,
    limit: int,
    before: str | None = None,
    stale_after: float = 600.0,
) -> HistoryPage:
    """Up to `limit` messages of the active branch older than `before` (a message of it; default:
    from the head). Tool calls and results are walked over but not returned, as in v1 history."""
    stale = stale_cutoff(stale_after)
    async with db.session() as session:
        chat_row = await owned_chat(session, client_id, chat_id)
        chat = chat_of(chat_row)
        anchor: MessageRow | None = None
        if before is not None:
            anchor = await session.get(MessageRow, before)
            if anchor is None or anchor.chat_id != chat_id:
                raise MessageNotFound(f"message {before!r} not found in chat {chat_id!r}")
        wanted = limit + 1  # one more tells whether older messages exist
        if not chat.branched:
            query = select(MessageRow).where(MessageRow.chat_id == chat_id)
            if anchor is not None:
                query = query.where(MessageRow.seq < anchor.seq)
            query = query.order_by(MessageRow.seq.desc()).limit(wanted)
            rows = list((await session.execute(query)).scalars())
        else:
            start = anchor.parent_id if anchor is not None else chat.head_message_id
            rows = []
            if start is not None:
                walk = branch_walk(chat_id, start, wanted)
                rows = list((await session.execute(walk)).scalars())
        has_more = len(rows) > limit
        messages = [message_of(r, stale) for r in rows[:limit]][::-1]
        versions = await _versions(session, chat, messages) if chat.branched else {}
    shown = [m for m in messages if _visible(m)]
    single = {m.id: Versions(1, 1, (m.id,)) for m in shown if m.id not in versions}
    return HistoryPage(chat, shown, {**single, **versions}, has_more)


async def _versions(
    session: AsyncSession, chat: Chat, messages: list[StoredMessage]
) -> dict[str, Versions]:
    """The siblings of the page's messages, in one query on (chat_id, parent_id)."""
    if not messages:
        return {}
    parents = {m.parent_id for m in messages if m.parent_id is not None}
    roots = any(m.parent_id is None for m in messages)
    match = []
    if parents:
        match.append(MessageRow.parent_id.in_(parents))
    if roots:
        match.append(MessageRow.parent_id.is_(None))
    query = (
        select(MessageRow.id, MessageRow.parent_id, MessageRow.role)
        .where(MessageRow.chat_id == chat.id, or_(*match), MessageRow.role.in_(_VISIBLE_ROLES))
        .order_by(MessageRow.seq)
    )
    groups: dict[tuple[str | None, str], list[str]] = {}
    for message_id, parent_id, role in await session.execute(query):
        groups.setdefault((parent_id, role), []).append(message_id)
    found: dict[str, Versions] = {}
    for message in messages:
        ids = groups.get((message.parent_id, message.role), [message.id])
        if message.id in ids:
            found[message.id] = Versions(ids.index(message.id) + 1, len(ids), tuple(ids))
    return found
