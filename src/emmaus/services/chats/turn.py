"""One v1 turn after its user message is committed: sources, routing, context, the model call
(whole or streamed), the follow-up extras beside it, and the reply settled in the store whatever
happens (complete, partial or failed), also when it is stopped (`TurnRun.stop`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.conversations.types import ReplyUpdate, StoredMessage, Turn
from emmaus.engine.types import Usage
from emmaus.errors import EmmausError, ProviderStreamBroken
from emmaus.services.chats.extras import Extras, generate_extras, title_from_query
from emmaus.services.chats.prepare import Found, Prepared, Routed, TurnKit, prepare_turn
from emmaus.services.chats.text import StreamCap, cap_text
from emmaus.services.chats.types import (
    DISCONNECTED,
    STOPPED,
    SendOptions,
    TextDelta,
    TurnResult,
    stored_error,
    turn_failure,
    turn_result,
)
from emmaus.services.completions import Served

log = logging.getLogger(__name__)

OPENED = object()  # the stream to the model is open: the HTTP response may start

Emit = Callable[[object], None]


class PartialSaver:
    """Saves a streaming reply's text in bounded batches (at most one write in flight, one
    every `partial_save_interval` seconds), so a crash keeps what the client already saw. Text
    offered within the interval is saved when it ends (a stream that sends its first words and
    then holds the rest back must not lose them to a crash)."""

    def __init__(self, kit: TurnKit, reply: StoredMessage) -> None:
        self.kit, self.reply = kit, reply
        self.interval = kit.settings.partial_save_interval
        self.last = time.monotonic()
        self.latest = self.saved = ""
        self.flusher: asyncio.Task[None] | None = None
        self.sleeping = False

    def offer(self, text: str) -> None:
        self.latest = text
        if self.flusher is None or self.flusher.done():
            self.flusher = self.kit.tasks.spawn(self._flush())

    async def _flush(self) -> None:
        while self.latest != self.saved:
            wait = self.interval - (time.monotonic() - self.last)
            if wait > 0:
                self.sleeping = True
                try:
                    await asyncio.sleep(wait)
                finally:
                    self.sleeping = False
            text = self.latest
            self.last = time.monotonic()
            try:
                await self.kit.manager.save_partial(self.reply, text)
            except Exception as exc:  # the store is away: the settle (or its retry) writes it
                log.warning("partial save of %s failed: %r", self.reply.id, exc)
                return
            self.saved = text

    def close(self) -> None:
        """The stream is over (its reply is settled next): a save still waiting is not needed;
        one already writing finishes (it only touches a reply that is still pending)."""
        if self.flusher is not None and self.sleeping:
            self.flusher.cancel()


class TurnRun:
    def __init__(
        self,
        kit: TurnKit,
        client_id: str,
        options: SendOptions,
        turn: Turn,
        routed: Routed | None = None,
        found: Awaitable[Found] | None = None,
    ):
        self.kit = kit
        self.client_id = client_id
        self.routed = routed  # decided before the turn was stored (else when it is prepared)
        self.found = found  # the sources, searched while the turn was written
        self.options = options
        self.turn = turn
        self.text = ""  # what the model wrote so far (for a partial reply)
        self.extras_task: asyncio.Task[Extras] | None = None
        self.prepared: Prepared | None = None
        self.generation: asyncio.Task[tuple[Served, str, str, Usage]] | None = None
        self.opened = False  # the model's stream is open (failures are reported in-stream)
        self.served: Served | None = None  # the model writing it, once its stream is open
        self.stopped = False

    async def prepare(self) -> Prepared:
        self.prepared = await prepare_turn(
            self.kit, self.client_id, self.options, self.turn, self.routed, self.found
        )
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
                sources=prepared.sources,  # suggestions from their titles when the model fails
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
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the turn itself is cancelled
            return Extras([])  # a stop skipped them

    def _limit(self) -> int | None:
        """`character_limit`, except for the safety layer's own answer: its help resources are
        never cut off."""
        prepared = self.prepared
        if prepared is not None and prepared.safety.answered_by_layer:
            return None
        return self.options.character_limit

    # -- the call --------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop at the caller's request (`Stops` calls it, on this loop). While the model
        writes, its call is cancelled and the reply settles as stopped with the text so far;
        once the text is whole, only the follow-up extras are skipped."""
        if self.stopped:
            return
        self.stopped = True
        generation = self.generation
        if generation is not None and not generation.done():
            generation.cancel()
        elif generation is not None and self.extras_task is not None:
            self.extras_task.cancel()

    async def run(self, emit: Emit | None = None) -> TurnResult:
        """Answer the turn. With `emit` the reply streams: `OPENED`, `TextDelta`s, then the
        `TurnResult` (also returned). Failures are stored, then raised (before `OPENED`) or
        reported in the final `TurnResult` (after). A stop ends it with a `TurnResult` whose
        status is partial (or failed, when nothing was written yet)."""
        with self.kit.stops.register(self.turn.reply.id, self.stop):
            return await self._run(emit)

    async def _run(self, emit: Emit | None) -> TurnResult:
        try:
            prepared = await self.prepare()
            if self.stopped:
                return await self._stopped(emit)
            self._start_extras(prepared)
            # Its own task, so a stop cancels the model call and nothing else.
            self.generation = asyncio.ensure_future(self._generate(prepared, emit))
            try:
                served, text, finish, usage = await self.generation
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not self.generation.cancelled() or (task is not None and task.cancelling()):
                    raise  # the request itself is being cancelled (the client went away)
                return await self._stopped(emit)
            return await self._settle(prepared, served, text, finish, usage, emit)
        except asyncio.CancelledError:
            # The client went away: keep what was written, then let the cancellation through.
            await self.kit.tasks.shielded(self._fail(DISCONNECTED))
            raise
        except EmmausError as exc:
            result = await self.kit.tasks.shielded(self._fail(stored_error(exc)))
            if emit is not None and self.opened:
                emit(result)
                return result
            raise turn_failure(result, retry_after=exc.retry_after) from exc
        except Exception as exc:
            log.exception("v1 turn failed")
            error = stored_error(EmmausError(f"internal error: {type(exc).__name__}"))
            result = await self.kit.tasks.shielded(self._fail(error))
            if emit is not None and self.opened:
                emit(result)
                return result
            raise turn_failure(result) from exc

    async def _generate(
        self, prepared: Prepared, emit: Emit | None
    ) -> tuple[Served, str, str, Usage]:
        if emit is None:
            return await self._complete(prepared)
        served, deltas = await self.kit.completions.stream(
            prepared.request, prepared.decision, prepared.safety
        )
        self.served = served
        emit(OPENED)
        self.opened = True
        text, finish, usage = await self._stream(served, deltas, emit)
        return served, text, finish, usage

    async def _stopped(self, emit: Emit | None) -> TurnResult:
        result = await self.kit.tasks.shielded(self._fail(STOPPED))
        if emit is not None:
            emit(result)  # also before OPENED: a stop is an answer, not an HTTP error
        return result

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
            saver.close()
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
                "routing_reason": decision.reason,  # shown beside the answer (Studio)
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
        served = self.served  # a partial text says which model wrote it
        update = ReplyUpdate(
            content=text,
            status=status,
            token_count=self.kit.counter.count(text) if text else 0,
            model=served.model.id if served else None,
            provider=served.model.vendor if served else None,
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
