"""The context builder: the system layer, the newest summary, then the newest turns that fit
the budget, read newest-first from stored token counts. Cost is O(turns kept): nothing older is
read and nothing is re-tokenised.

Guarantees: the system messages are always kept; so is everything from the newest user turn
onwards; a tool result never appears without the assistant message that called it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from emmaus.conversations.types import Chat, ContextWindow, Preloaded, StoredMessage, Summary
from emmaus.engine.types import Message, ToolCall

if TYPE_CHECKING:
    from emmaus.conversations.cache import ContextCache
    from emmaus.conversations.manager import ConversationManager

# Chat templates wrap every message in a few tokens of markup (role, separators).
PER_MESSAGE_TOKENS = 4
FIRST_PAGE = 16
MAX_PAGE = 256


def first_page(budget: int) -> int:
    """How many rows the first read takes: as many as the budget could hold at ~12 tokens each
    (one read should usually do)."""
    return max(FIRST_PAGE, min(MAX_PAGE, budget // 12))


@dataclass(slots=True)
class SystemPart:
    """A system message the context must keep, with its token count."""

    content: str
    token_count: int


def summary_message(summary: Summary) -> Message:
    return Message(
        role="system",
        content=(
            f"Summary of the earlier conversation (messages {summary.from_seq}-{summary.to_seq}):"
            f"\n{summary.content}"
        ),
    )


def to_engine(message: StoredMessage) -> Message:
    calls = None
    if message.tool_calls:
        calls = [
            ToolCall(id=c["id"], name=c["name"], arguments=c.get("arguments", "{}"))
            for c in message.tool_calls
        ]
    return Message(
        role=message.role,  # type: ignore[arg-type]
        content=message.content if message.content or not calls else None,
        tool_calls=calls,
        tool_call_id=message.tool_call_id,
    )


class ContextBuilder:
    def __init__(self, manager: ConversationManager, *, cache: ContextCache | None = None) -> None:
        self.manager = manager
        self.cache = cache

    async def build(
        self,
        chat: Chat,
        *,
        budget: int,
        system: Sequence[SystemPart] = (),
        before: StoredMessage | None = None,
        question: StoredMessage | None = None,
        preloaded: Preloaded | None = None,
    ) -> ContextWindow:
        """The context for a reply. `before` is the reply's placeholder (the walk starts at its
        question, which `question` may hand over to save a read); without it the walk starts at
        the chat's head. `budget` counts every token sent: system parts, summary and turns (the
        caller subtracts max_tokens and a margin)."""
        used = sum(p.token_count + PER_MESSAGE_TOKENS for p in system)
        reader = _Reader(self, chat, before, question, budget)
        summaries = {s.last_message_id: s for s in await reader.prime(preloaded)}
        reserved: Summary | None = None
        if not chat.branched and summaries:
            # On a single branch the newest summary is the one to use: reserve its room first.
            limit_seq = before.seq if before is not None else chat.last_seq + 1
            older = [s for s in summaries.values() if s.to_seq < limit_seq]
            if older:
                reserved = max(older, key=lambda s: s.to_seq)
                used += reserved.token_count + PER_MESSAGE_TOKENS

        kept: list[StoredMessage] = []
        seen_user = False
        met_summary: Summary | None = None
        truncated = False
        while (row := await reader.next()) is not None:
            if row.id in summaries:
                met_summary = summaries[row.id]
                break
            if not row.usable_in_context and not (row.role == "user" and not seen_user):
                continue  # pending placeholders and failed replies carry nothing
            cost = row.token_count + PER_MESSAGE_TOKENS
            if seen_user and used + cost > budget:
                truncated = True
                break
            kept.append(row)
            used += cost
            seen_user = seen_user or row.role == "user"
        await reader.remember()

        kept.reverse()  # oldest first
        newest_user = next((m for m in reversed(kept) if m.role == "user"), None)
        while kept and kept[0].role == "tool" and kept[0] is not newest_user:
            used -= kept[0].token_count + PER_MESSAGE_TOKENS
            kept.pop(0)  # its assistant tool call did not fit: never send an orphan result

        summary = reserved
        if chat.branched and met_summary is not None:
            cost = met_summary.token_count + PER_MESSAGE_TOKENS
            if used + cost <= budget:
                summary, used = met_summary, used + cost
        elif reserved is not None and met_summary is None and not truncated:
            # The walk reached the root first: that summary belongs to no message on this path.
            used -= reserved.token_count + PER_MESSAGE_TOKENS
            summary = None
        messages = [Message(role="system", content=p.content) for p in system if p.content]
        if summary is not None:
            messages.append(summary_message(summary))
        messages += [to_engine(m) for m in kept]
        return ContextWindow(
            messages=messages,
            tokens=used,
            kept=len(kept),
            summary=summary,
            truncated=truncated,
            unsummarised_tokens=sum(m.token_count + PER_MESSAGE_TOKENS for m in kept),
            turns=kept,
            budget=budget,
        )


class _Reader:
    """Rows of the branch, newest first, fetched in growing pages (or from the cache)."""

    def __init__(
        self,
        builder: ContextBuilder,
        chat: Chat,
        before: StoredMessage | None,
        question: StoredMessage | None,
        budget: int,
    ) -> None:
        self.manager = builder.manager
        self.cache = builder.cache
        self.chat = chat
        self.before = before
        self.question = question
        self.buffer: list[StoredMessage] = []
        self.read: list[StoredMessage] = []  # what came from the database, for the cache
        self.exhausted = False
        self.page = first_page(budget)
        self.generation: int | None = None

    async def prime(self, preloaded: Preloaded | None = None) -> list[Summary]:
        """The chat's newest summaries, and the first page of rows into the buffer."""
        if preloaded is not None:
            self._took(preloaded.rows)
            return preloaded.summaries
        if await self._from_cache():
            return await self.manager.latest_summaries(self.chat.id)
        summaries, rows = await self.manager.recent_with_summaries(
            self.chat, limit=self.page, before=self.before
        )
        self._took(rows)
        return summaries

    async def next(self) -> StoredMessage | None:
        if not self.buffer and not self.exhausted:
            cursor = self.before if not self.read else self.read[-1]
            self._took(await self.manager.recent(self.chat, limit=self.page, before=cursor))
        return self.buffer.pop(0) if self.buffer else None

    def _took(self, rows: list[StoredMessage]) -> None:
        self.exhausted = len(rows) < self.page
        self.page = min(self.page * 2, MAX_PAGE)
        self.read += rows
        self.buffer += rows

    async def _from_cache(self) -> bool:
        question = self.question
        if self.cache is None or question is None or self.before is None:
            return False
        if self.before.parent_id != question.id:
            return False
        # A chat's first question has no parent: nothing to find, but the generation read
        # now lets this turn's rows be remembered for the next one.
        entry, self.generation = await self.cache.lookup(self.chat.id, question.parent_id or "")
        if entry is None or question.parent_id is None:
            return False
        self.read = [question, *entry.rows]
        self.buffer = list(self.read)
        self.exhausted = entry.complete
        return True

    async def remember(self) -> None:
        """Keep what was read for the next turn of this chat (see `ContextCache`)."""
        if self.cache is None or not self.read or self.generation is None:
            return  # (a hit is stored again too: it now starts at the question)
        await self.cache.put(self.chat.id, self.generation, self.read, complete=self.exhausted)
