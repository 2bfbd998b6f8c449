"""Rolling summaries: once a chat's verbatim turns fill `summarize_at` of the context budget,
the older part (and the previous summary) is condensed by a small completion into a summary row
naming the range it replaces. Runs after the reply is stored, off the turn's latency path."""

from __future__ import annotations

import logging

from emmaus.conversations.context import PER_MESSAGE_TOKENS
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import ContextWindow, StoredMessage, Summary
from emmaus.engine.router import RoutingRequest
from emmaus.engine.types import GenerationParams, Message
from emmaus.errors import EmmausError
from emmaus.services.completions import CompletionRequest, CompletionService

log = logging.getLogger(__name__)

MIN_TURNS = 4  # never summarise a chat that has barely started
INSTRUCTION = (
    "Summarise the conversation below for your own memory, in at most 150 words: the user's "
    "goals, facts they gave, decisions and open questions. Plain prose, no preamble."
)


def older_part(window: ContextWindow, keep_tokens: float) -> list[StoredMessage]:
    """The kept turns to condense: all but the newest ones worth `keep_tokens`. The cut never
    separates tool results from their call, and the newest user turn always stays verbatim."""
    turns = window.turns
    used = 0
    cut = len(turns)
    for index in range(len(turns) - 1, -1, -1):
        used += turns[index].token_count + PER_MESSAGE_TOKENS
        if used > keep_tokens:
            cut = index + 1
            break
    else:
        return []
    while cut < len(turns) and turns[cut].role == "tool":
        cut += 1
    newest_user = max((i for i, m in enumerate(turns) if m.role == "user"), default=len(turns))
    return turns[: min(cut, newest_user)]


def transcript(previous: Summary | None, covered: list[StoredMessage], max_tokens: int) -> str:
    """The text to condense, newest lines kept when it would not fit the summariser."""
    lines: list[str] = []
    used = 0
    for message in reversed(covered):
        if not message.content:
            continue
        used += message.token_count + PER_MESSAGE_TOKENS
        if used > max_tokens and lines:
            break
        who = {"user": "User", "assistant": "Assistant", "tool": "Tool"}.get(message.role, "Note")
        lines.append(f"{who}: {message.content}")
    text = "\n".join(reversed(lines))
    if previous is not None:
        text = f"Earlier summary: {previous.content}\n\n{text}"
    return text


class Summarizer:
    def __init__(
        self,
        manager: ConversationManager,
        completions: CompletionService,
        counter: TokenCounter,
        settings: ChatSettings,
    ) -> None:
        self.manager = manager
        self.completions = completions
        self.counter = counter
        self.settings = settings
        self._running: set[str] = set()

    def wanted(self, window: ContextWindow) -> bool:
        if not self.settings.summaries or len(window.turns) < MIN_TURNS:
            return False
        full = window.unsummarised_tokens > self.settings.summarize_at * window.budget
        return window.truncated or full

    async def summarize(self, chat_id: str, window: ContextWindow) -> Summary | None:
        """Condense the older kept turns; None when there is nothing to do or the model failed
        (the context then simply keeps dropping the oldest turns)."""
        if chat_id in self._running:
            return None
        covered = older_part(window, self.settings.summary_keep * window.budget)
        if not covered:
            return None
        self._running.add(chat_id)
        try:
            room = self.counter.reference.context_window - self.settings.summary_max_tokens - 256
            text = transcript(window.summary, covered, max(256, room))
            request = CompletionRequest(
                messages=[
                    Message(role="system", content=INSTRUCTION),
                    Message(role="user", content=text),
                ],
                routing=RoutingRequest(auto_routing=True),
                params=GenerationParams(
                    max_tokens=self.settings.summary_max_tokens, temperature=0.2
                ),
                screening="off",  # internal: a summary is context, never shown as an answer
            )
            served, completion = await self.completions.complete(request)
            content = (completion.content or "").strip()
            if not content:
                return None
            return await self.manager.add_summary(
                chat_id,
                covered,
                content,
                self.counter.count(content, served.model),
                served.model.id,
                extends=window.summary,
            )
        except EmmausError as exc:
            log.warning("summarising chat %s failed: %s", chat_id, exc.message)
            return None
        finally:
            self._running.discard(chat_id)
