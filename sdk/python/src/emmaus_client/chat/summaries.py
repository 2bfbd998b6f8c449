"""Summaries of long chats through a completion call: the older turns (and the summary they
extend) condensed into a few sentences that stand in for them in later contexts."""

from __future__ import annotations

from typing import Any

from emmaus_client._client import AsyncEmmaus
from emmaus_client.storage import StoredMessage

INSTRUCTIONS = (
    "You condense conversations. Write a short summary (at most five sentences) of the "
    "conversation below: the user's questions, the answers' key points, names and decisions. "
    "Write only the summary."
)
MAX_TRANSCRIPT_CHARS = 24_000  # the oldest lines go first past this


def transcript(previous: str | None, messages: list[StoredMessage]) -> str:
    lines = [f"Summary so far: {previous}"] if previous else []
    lines += [f"{m.role}: {m.content}" for m in messages if m.role in ("user", "assistant")]
    text = "\n".join(lines)
    return text[-MAX_TRANSCRIPT_CHARS:]


class CompletionSummarizer:
    """A `Summarizer` for `ConversationManager.summarize` that asks Completions v2."""

    def __init__(self, client: AsyncEmmaus, *, max_tokens: int = 200, **routing: Any) -> None:
        self.client, self.max_tokens, self.routing = client, max_tokens, routing

    async def __call__(self, previous: str | None, messages: list[StoredMessage]) -> str:
        answer = await self.client.completions.create(
            [
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": transcript(previous, messages)},
            ],
            max_tokens=self.max_tokens,
            **self.routing,
        )
        return answer.content or ""
