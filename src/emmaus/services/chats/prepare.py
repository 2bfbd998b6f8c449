"""What a v1 turn is prepared from and with: the kit a service hands its turns, the sources of
a question, and the prepared request (routing, the context from the active branch, safety)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from emmaus.conversations.context import ContextBuilder, SystemPart
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import ContextWindow, Turn
from emmaus.engine.router import RoutingDecision, RoutingRequest
from emmaus.engine.traditions import tradition_prompt
from emmaus.engine.types import GenerationParams, Message
from emmaus.errors import EmmausError
from emmaus.grounding.citations import reference_message, with_reference
from emmaus.services.chats.summaries import Summarizer
from emmaus.services.chats.tasks import TaskKeeper
from emmaus.services.chats.text import limit_instruction
from emmaus.services.chats.types import SendOptions, SourceProvider, source_record
from emmaus.services.completions import CompletionRequest, CompletionService
from emmaus.services.safeguard import SafetyOutcome
from emmaus.services.stops import Stops

log = logging.getLogger(__name__)

_SNIPPET_CHARS = 700


@dataclass(slots=True)
class TurnKit:
    """What a turn needs, handed over by the service that starts it (no way back to it)."""

    manager: ConversationManager
    completions: CompletionService
    counter: TokenCounter
    settings: ChatSettings
    sources: SourceProvider | None
    builder: ContextBuilder
    summarizer: Summarizer
    tasks: TaskKeeper
    stops: Stops


@dataclass(slots=True)
class Prepared:
    request: CompletionRequest
    decision: RoutingDecision
    window: ContextWindow
    sources: list[dict[str, Any]]
    intent: int
    sources_limit: int
    safety: SafetyOutcome


SOURCES_INSTRUCTION = (
    "Sources from trusted publishers come in a reference block before the question; use them "
    "where they help and cite none other."
)


def sources_reference(sources: list[dict[str, Any]]) -> Message | None:
    """The v1 sources as a delimited reference block (their text is data, not instructions)."""
    if not sources:
        return None
    entries = []
    for number, source in enumerate(sources, start=1):
        snippet = " ".join(str(source.get("snippet") or "").split())[:_SNIPPET_CHARS]
        entries.append(
            f"[{number}] {source.get('item_title')} ({source.get('publisher')}): {snippet}"
        )
    return reference_message(entries)


def reply_tokens(limit: int | None, ceiling: int) -> int:
    """max_tokens for a reply: enough for `limit` characters (~3 per token, with slack)."""
    if not limit:
        return ceiling
    return max(16, min(ceiling, limit // 3 + 16))


async def find_sources(
    kit: TurnKit, client_id: str, options: SendOptions
) -> tuple[list[dict[str, Any]], int]:
    """The v1 `sources` for a question, and the `sources_limit` to echo."""
    provider = kit.sources
    limit = options.sources_limit
    if limit is None:
        limit = kit.settings.default_sources_limit
    wanted = options.enable_sources != 0 and limit > 0 and provider is not None
    if options.enable_sources != 2 and options.intent == 0:
        wanted = False  # intent 0: "this prompt needs no sources"
    if not wanted or provider is None:
        return [], options.sources_limit or 0  # echoed as asked: nothing was retrieved
    publishers = list(options.publishers) or None
    try:
        found = await provider.search(client_id, options.query, publishers, limit)
    except EmmausError as exc:
        log.warning("source retrieval failed: %s", exc.message)
        found = []
    return [source_record(s) for s in found[:limit]], limit


@dataclass(frozen=True, slots=True)
class Routed:
    """A turn's routing, decided before anything is stored: a question no model may take (too
    long for every window, an unknown model...) is refused and leaves no chat or exchange."""

    routing: RoutingRequest
    params: GenerationParams
    ceiling: int
    decision: RoutingDecision


def route_turn(kit: TurnKit, options: SendOptions) -> Routed:
    """Route the question; raises the router's refusals (`ContextTooLong`, `ModelNotFound`,
    `NoModelAvailable`, ...)."""
    needs = frozenset({"streaming"}) if options.stream else frozenset()
    preference = options.routing_preference or "balanced"
    routing = RoutingRequest(
        auto_routing=None if options.model or options.model_family else True,
        model=options.model,
        model_family=options.model_family,
        needs=needs,
        preference=preference,  # type: ignore[arg-type]
    )
    ceiling = reply_tokens(options.character_limit, kit.settings.reply_max_tokens)
    params = GenerationParams(max_tokens=ceiling)
    question = [Message(role="user", content=options.query)]
    decision = kit.completions.decide(CompletionRequest(question, routing, params))
    return Routed(routing, params, ceiling, decision)


def context_budget(kit: TurnKit, routed: Routed) -> int:
    """The tokens the context may take. Fallbacks may have smaller windows: budget for the
    tightest model of the chain."""
    return min(
        model.context_window
        - min(routed.ceiling, model.max_output_tokens)
        - min(kit.settings.context_margin, model.context_window // 8)
        for model in routed.decision.chain
    )


Found = tuple[list[dict[str, Any]], int]  # `find_sources`' answer


async def prepare_turn(
    kit: TurnKit,
    client_id: str,
    options: SendOptions,
    turn: Turn,
    routed: Routed | None = None,
    found: Awaitable[Found] | None = None,
) -> Prepared:
    """Sources (`found`, when their search started beside the turn's write), routing (`routed`,
    when decided before the turn was stored), the context from the active branch up to the
    turn's question (from `turn.preloaded` when the write read it), and the safety verdict on
    it: everything but the model call."""
    routed = routed or route_turn(kit, options)
    routing, params, decision = routed.routing, routed.params, routed.decision
    sources, sources_limit = await (found or find_sources(kit, client_id, options))
    intent = options.intent if options.intent is not None else (1 if sources else 0)
    tradition = options.tradition or turn.chat.tradition
    budget = context_budget(kit, routed)
    reference = sources_reference(sources)
    instructions = [
        limit_instruction(options.character_limit),
        SOURCES_INSTRUCTION if reference else None,
    ]
    system_text = "\n\n".join(part for part in instructions if part)
    system_tokens = kit.counter.count(tradition_prompt(tradition)) + kit.counter.count(system_text)
    if reference is not None:  # budgeted with the system text: it is always sent
        system_tokens += kit.counter.count(reference.content or "")
    window = await kit.builder.build(
        turn.chat,
        budget=budget,
        system=[SystemPart(system_text, system_tokens)],
        before=turn.reply,
        question=turn.user,
        preloaded=turn.preloaded,
    )
    request = CompletionRequest(window.messages, routing, params, tradition, client_id=client_id)
    # Judged on the conversation alone (before extras: a crisis gets none); the sources
    # are data for the model, not words of the person.
    safety = kit.completions.judge(request)
    if reference is not None:
        request.messages = with_reference(window.messages, reference)
    return Prepared(request, decision, window, sources, intent, sources_limit, safety)
