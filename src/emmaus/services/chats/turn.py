"""One v1 turn after its user message is committed: sources, routing, context, the model call
(whole or streamed), the follow-up extras beside it, and the reply settled in the store whatever
happens (complete, partial or failed)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emmaus.conversations.context import ContextBuilder, SystemPart
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import ContextWindow, ReplyUpdate, StoredMessage, Turn
from emmaus.engine.router import RoutingDecision, RoutingRequest
from emmaus.engine.traditions import tradition_prompt
from emmaus.engine.types import GenerationParams, Message, Usage
from emmaus.errors import EmmausError, ProviderStreamBroken
from emmaus.grounding.citations import reference_message, with_reference
from emmaus.services.chats.extras import Extras, generate_extras, title_from_query
from emmaus.services.chats.summaries import Summarizer
from emmaus.services.chats.tasks import TaskKeeper
from emmaus.services.chats.text import StreamCap, cap_text, limit_instruction
from emmaus.services.chats.types import (
    DISCONNECTED,
    SendOptions,
    SourceProvider,
    TextDelta,
    TurnResult,
    source_record,
    stored_error,
    turn_failure,
    turn_result,
)
from emmaus.services.completions import CompletionRequest, CompletionService, Served
from emmaus.services.safeguard import SafetyOutcome

log = logging.getLogger(__name__)

OPENED = object()  # the stream to the model is open: the HTTP response may start
_SNIPPET_CHARS = 700

Emit = Callable[[object], None]


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


class PartialSaver:
    """Saves a streaming reply's text in bounded batches (at most one write in flight, one
    every `partial_save_interval` seconds), so a crash keeps what the client already saw."""

    def __init__(self, kit: TurnKit, reply: StoredMessage) -> None:
        self.kit, self.reply = kit, reply
        self.interval = kit.settings.partial_save_interval
        self.last = time.monotonic()
        self.writing: asyncio.Task[None] | None = None

    def offer(self, text: str) -> None:
        now = time.monotonic()
        if now - self.last < self.interval or (self.writing and not self.writing.done()):
            return
        self.last = now
        self.writing = self.kit.tasks.spawn(self.kit.manager.save_partial(self.reply, text))


class TurnRun:
    def __init__(self, kit: TurnKit, client_id: str, options: SendOptions, turn: Turn):
        self.kit = kit
        self.client_id = client_id
        self.options = options
        self.turn = turn
        self.text = ""  # what the model wrote so far (for a partial reply)
        self.extras_task: asyncio.Task[Extras] | None = None
        self.prepared: Prepared | None = None

    # -- preparation -----------------------------------------------------------------------

    async def _sources(self) -> tuple[list[dict[str, Any]], int]:
        options, provider = self.options, self.kit.sources
        limit = options.sources_limit
        if limit is None:
            limit = self.kit.settings.default_sources_limit
        wanted = options.enable_sources != 0 and limit > 0 and provider is not None
        if options.enable_sources != 2 and options.intent == 0:
            wanted = False  # intent 0: "this prompt needs no sources"
        if not wanted or provider is None:
            return [], options.sources_limit or 0  # echoed as asked: nothing was retrieved
        publishers = list(options.publishers) or None
        try:
            found = await provider.search(self.client_id, options.query, publishers, limit)
        except EmmausError as exc:
            log.warning("source retrieval failed: %s", exc.message)
            found = []
        return [source_record(s) for s in found[:limit]], limit

    async def prepare(self) -> Prepared:
        kit, options, turn = self.kit, self.options, self.turn
        sources, sources_limit = await self._sources()
        intent = options.intent if options.intent is not None else (1 if sources else 0)
        tradition = options.tradition or turn.chat.tradition
        needs = frozenset({"streaming"}) if options.stream else frozenset()
        preference = options.routing_preference or "balanced"
        routing = RoutingRequest(auto_routing=True, needs=needs, preference=preference)  # type: ignore[arg-type]
        ceiling = reply_tokens(options.character_limit, kit.settings.reply_max_tokens)
        params = GenerationParams(max_tokens=ceiling)
        question = [Message(role="user", content=options.query)]
        decision = kit.completions.decide(CompletionRequest(question, routing, params))
        # Fallbacks may have smaller windows: budget for the tightest model of the chain.
        budget = min(
            model.context_window
            - min(ceiling, model.max_output_tokens)
            - min(kit.settings.context_margin, model.context_window // 8)
            for model in decision.chain
        )
        reference = sources_reference(sources)
        instructions = [
            limit_instruction(options.character_limit),
            SOURCES_INSTRUCTION if reference else None,
        ]
        system_text = "\n\n".join(part for part in instructions if part)
        system_tokens = kit.counter.count(tradition_prompt(tradition)) + kit.counter.count(
            system_text
        )
        if reference is not None:  # budgeted with the system text: it is always sent
            system_tokens += kit.counter.count(reference.content or "")
        window = await kit.builder.build(
            turn.chat,
            budget=budget,
            system=[SystemPart(system_text, system_tokens)],
            before=turn.reply,
            question=turn.user,
        )
        request = CompletionRequest(
            window.messages, routing, params, tradition, client_id=self.client_id
        )
        # Judged on the conversation alone (before extras: a crisis gets none); the sources
        # are data for the model, not words of the person.
        safety = kit.completions.judge(request)
        if reference is not None:
            request.messages = with_reference(window.messages, reference)
        self.prepared = Prepared(request, decision, window, sources, intent, sources_limit, safety)
        return self.prepared

    def _start_extras(self, prepared: Prepared) -> None:
        options = self.options
        # A turn the safety layer answered gets no model-written suggestions or title.
        model_extras = not prepared.safety.answered_by_layer
        want_suggestions = model_extras and options.enable_suggestions != 0
        want_title = (
            model_extras
            and self.kit.settings.titles
            and self.turn.chat.title is None
            and self.turn.user.parent_id is None
        )
        if not want_suggestions and not want_title:
            return
        recent = [m for m in prepared.window.messages if m.role != "system"][:-1]
        self.extras_task = self.kit.tasks.spawn(
            generate_extras(
                self.kit.completions,
                options.query,
                recent,
                want_suggestions=want_suggestions,
                want_title=want_title,
                max_tokens=self.kit.settings.extras_max_tokens,
            )
        )

    async def _extras(self) -> Extras:
        if self.extras_task is None:
            return Extras([])
        try:
            return await asyncio.wait_for(
                asyncio.shield(self.extras_task), self.kit.settings.extras_timeout
            )
        except TimeoutError:
            self.extras_task.cancel()
            return Extras([])

    def _limit(self) -> int | None:
        """`character_limit`, except for the safety layer's own answer: its help resources are
        never cut off."""
        prepared = self.prepared
        if prepared is not None and prepared.safety.answered_by_layer:
            return None
        return self.options.character_limit

    # -- the call --------------------------------------------------------------------------

    async def run(self, emit: Emit | None = None) -> TurnResult:
        """Answer the turn. With `emit` the reply streams: `OPENED`, `TextDelta`s, then the
        `TurnResult` (also returned). Failures are stored, then raised (before `OPENED`) or
        reported in the final `TurnResult` (after)."""
        opened = False
        try:
            prepared = await self.prepare()
            self._start_extras(prepared)
            if emit is None:
                served, text, finish, usage = await self._complete(prepared)
            else:
                served, deltas = await self.kit.completions.stream(
                    prepared.request, prepared.decision, prepared.safety
                )
                emit(OPENED)
                opened = True
                text, finish, usage = await self._stream(served, deltas, emit)
            return await self._settle(prepared, served, text, finish, usage, emit)
        except asyncio.CancelledError:
            # The client went away: keep what was written, then let the cancellation through.
            await self.kit.tasks.shielded(self._fail(DISCONNECTED))
            raise
        except EmmausError as exc:
            result = await self.kit.tasks.shielded(self._fail(stored_error(exc)))
            if emit is not None and opened:
                emit(result)
                return result
            raise turn_failure(result, retry_after=exc.retry_after) from exc
        except Exception as exc:
            log.exception("v1 turn failed")
            error = stored_error(EmmausError(f"internal error: {type(exc).__name__}"))
            result = await self.kit.tasks.shielded(self._fail(error))
            if emit is not None and opened:
                emit(result)
                return result
            raise turn_failure(result) from exc

    async def _complete(self, prepared: Prepared) -> tuple[Served, str, str, Usage]:
        served, completion = await self.kit.completions.complete(
            prepared.request, prepared.decision, prepared.safety
        )
        self.text = completion.content or ""
        return (
            served,
            cap_text(self.text, self._limit()),
            (completion.finish_reason),
            completion.usage,
        )

    async def _stream(self, served: Served, deltas: Any, emit: Emit) -> tuple[str, str, Usage]:
        cap = StreamCap(self._limit())
        usage = Usage()
        finish: str | None = None
        saver = PartialSaver(self.kit, self.turn.reply)
        sent = ""
        try:
            async for delta in deltas:
                if delta.usage is not None:
                    usage = delta.usage
                if delta.content:
                    self.text += delta.content
                    piece = cap.feed(delta.content)
                    if piece:
                        emit(TextDelta(piece))
                        sent += piece
                        saver.offer(sent)
                    if cap.full:  # past the character limit: stop the model now
                        finish = "length"
                        break
                if delta.finish_reason is not None:
                    finish = delta.finish_reason
                    break
        finally:
            aclose = getattr(deltas, "aclose", None)
            if aclose is not None:
                await aclose()
        if finish is None:
            raise ProviderStreamBroken(f"{served.model.id} ended without finishing")
        if finish == "error":
            raise ProviderStreamBroken(f"{served.model.id} reported an error mid-stream")
        rest, final = cap.finish()
        if rest:
            emit(TextDelta(rest))
        return final, finish, usage

    async def _settle(
        self,
        prepared: Prepared,
        served: Served,
        text: str,
        finish: str,
        usage: Usage,
        emit: Emit | None,
    ) -> TurnResult:
        extras = await self._extras()
        kit, decision = self.kit, prepared.decision
        update = ReplyUpdate(
            content=text,
            status=COMPLETE,
            token_count=kit.counter.count(text, served.model),
            model=served.model.id,
            provider=served.model.vendor,
            routing_mechanism=decision.mechanism,
            routing_tier=decision.tier_name,
            routing_confidence=decision.confidence,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            finish_reason=finish,
            sources=prepared.sources,
            suggestions=extras.suggestions,
            meta={
                "intent": prepared.intent,
                "sources_limit": prepared.sources_limit,
                "safety": served.safety.to_dict(),
            },
        )
        reply = await kit.tasks.shielded(kit.manager.finish_reply(self.turn.reply, update))
        if self.turn.chat.title is None and self.turn.user.parent_id is None:
            title = extras.title or title_from_query(self.options.query)
            await kit.tasks.shielded(kit.manager.set_title_if_missing(reply.chat_id, title))
        if kit.summarizer.wanted(prepared.window):
            kit.tasks.spawn(kit.summarizer.summarize(reply.chat_id, prepared.window))
        result = turn_result(self.turn.user, reply, usage=usage)
        if emit is not None:
            emit(result)
        return result

    async def _fail(self, error: dict[str, Any]) -> TurnResult:
        if self.extras_task is not None:
            self.extras_task.cancel()
        prepared = self.prepared
        status = PARTIAL if self.text else FAILED
        text = cap_text(self.text, self._limit())
        update = ReplyUpdate(
            content=text,
            status=status,
            token_count=self.kit.counter.count(text) if text else 0,
            error=error,
            sources=prepared.sources if prepared else [],
            suggestions=[],
            meta={
                "intent": prepared.intent if prepared else (self.options.intent or 0),
                "sources_limit": prepared.sources_limit if prepared else 0,
                "safety": prepared.safety.to_dict() if prepared else None,
            },
        )
        reply: StoredMessage = await self.kit.manager.finish_reply(self.turn.reply, update)
        return turn_result(self.turn.user, reply)
