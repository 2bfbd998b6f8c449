"""Context-window management from stored token counts: what of a branch fits a budget, and
what a summary should condense. Pure functions over records (no SQL), so they are cheap to test
and to reuse."""

from __future__ import annotations

from collections.abc import Sequence

from emmaus_client.storage.records import Context, Conversation, StoredMessage, estimate_tokens

SUMMARY_PREFIX = "Summary of the earlier conversation:\n"


def unsummarized(conversation: Conversation, path: Sequence[StoredMessage]) -> int:
    """How many leading messages of `path` the conversation's summary stands for (0 when it has
    none, or when it summarises another branch)."""
    if not conversation.summary or not conversation.summary_through_id:
        return 0
    for index, message in enumerate(path):
        if message.id == conversation.summary_through_id:
            return index + 1
    return 0


def assemble(
    conversation: Conversation,
    path: Sequence[StoredMessage],
    budget: int,
    system: str | None = None,
) -> Context:
    """System prompt, then the summary, then the newest messages that fit `budget` tokens
    (each counted by its stored `tokens_used`). The newest message is always kept, even alone
    past the budget: the model's own window check is the judge of that."""
    covered = unsummarized(conversation, path)
    head: list[dict[str, str]] = []
    used = 0
    if system:
        head.append({"role": "system", "content": system})
        used += estimate_tokens(system)
    if covered:
        text = SUMMARY_PREFIX + (conversation.summary or "")
        head.append({"role": "system", "content": text})
        used += estimate_tokens(text)
    recent = list(path[covered:])
    kept: list[StoredMessage] = []
    for message in reversed(recent):
        if kept and used + message.tokens_used > budget:
            break
        kept.append(message)
        used += message.tokens_used
    kept.reverse()
    body = [{"role": m.role, "content": m.content} for m in kept]
    return Context(
        messages=head + body,
        tokens=used,
        kept=len(kept),
        dropped=len(recent) - len(kept),
        summarized=covered,
        budget=budget,
        pending_tokens=sum(m.tokens_used for m in recent),
    )


def to_condense(
    conversation: Conversation, path: Sequence[StoredMessage], keep_tokens: int
) -> list[StoredMessage]:
    """The oldest unsummarised messages beyond the newest `keep_tokens` tokens: what a new
    summary should fold in (empty when everything still fits). Never splits a question from
    its answer: the cut moves back to a user message."""
    recent = list(path[unsummarized(conversation, path) :])
    kept_tokens, cut = 0, len(recent)
    while cut > 0 and kept_tokens + recent[cut - 1].tokens_used <= keep_tokens:
        cut -= 1
        kept_tokens += recent[cut].tokens_used
    if cut == 0:
        return []
    while cut < len(recent) and recent[cut].role != "user":
        cut += 1  # keep less rather than start the kept part on an answer
    return recent[: min(cut, len(recent) - 1)]  # the newest message is never condensed
