"""One response after its input is stored: the model call (whole or streamed) in a task of its
own, so a cancel from any request stops it, and the reply settled whatever happens: complete,
cancelled (the text so far kept), or failed."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import Chat, ContextWindow, ReplyUpdate, StoredMessage
from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import StreamDelta, ToolCall, Usage
from emmaus.errors import EmmausError, ProviderStreamBroken
from emmaus.services.chats.summaries import Summarizer
from emmaus.services.chats.tasks import TaskKeeper
from emmaus.services.completions import CompletionRequest, CompletionService, Served
from emmaus.services.events import next_event, relay
from emmaus.services.responses.types import (
    Finished,
    ResponseEvent,
    ResponseRecord,
    TextPiece,
    ToolPiece,
)
from emmaus.services.safeguard import SafetyOutcome
from emmaus.services.stops import Stops

log = logging.getLogger(__name__)

Emit = Callable[[object], None]
_OPENED = object()  # the model's stream is open: the HTTP stream may start
STOPPED_ERROR = {
    "code": "cancelled",
    "name": "CANCELLED",
    "message": "the response was cancelled",
    "retryable": False,
}


@dataclass(slots=True)
class RunKit:
    """What a run needs, handed over by the service that starts it (no way back to it)."""

    manager: ConversationManager
    completions: CompletionService
    counter: TokenCounter
    settings: ChatSettings
    summarizer: Summarizer
    tasks: TaskKeeper
    stops: Stops | None
    running: dict[str, asyncio.Task[Any]]  # reply id -> its run, on this instance


@dataclass(slots=True)
class RunPlan:
    request: CompletionRequest
    decision: RoutingDecision
    safety: SafetyOutcome
    window: ContextWindow
    tradition: str | None


class ResponseRun:
    def __init__(
        self,
        service: RunKit,
        chat: Chat | None,
        reply: StoredMessage,
        plan: RunPlan,
        *,
        stored: bool,
    ) -> None:
        self.service = service
        self.chat = chat
        self.reply = reply
        # As it was before the model answered: `response.created` is written from this, and
        # a fast model may have settled `reply` by the time the stream's first event is made.
        self.placeholder = reply
        self.plan = plan
        self.stored = stored
        self.text = ""
        self.calls: dict[int, ToolCall] = {}
        self.served: Served | None = None

    @property
    def pending(self) -> ResponseRecord:
        """The response as it is before the model answers (`response.created`)."""
        return ResponseRecord(self.chat, self.placeholder, stored=self.stored)

    # -- running -------------------------------------------------------------------------------

    async def complete(self) -> ResponseRecord:
        """The whole response. A cancel (from any request) ends it early, as `cancelled`."""
        task = self._spawn(self._produce(None))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            task.cancel()  # the caller left: stop the model; the run stores what it has
            raise

    async def stream(self) -> AsyncIterator[ResponseEvent]:
        """Open the stream (errors up to the first token are raised here), then iterate the
        events; the last is `Finished`. Closing the iterator early stops the model."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        task = self._spawn(self._produce(queue.put_nowait))
        first = await next_event(queue, task)
        if isinstance(first, BaseException):
            raise first
        return relay(queue, task, lambda e: isinstance(e, Finished))

    def _spawn(self, work: Any) -> asyncio.Task[ResponseRecord]:
        task = self.service.tasks.spawn(work)
        if self.stored:
            running, reply_id = self.service.running, self.reply.id
            running[reply_id] = task
            stops = self.service.stops
            registration = stops.register(reply_id, task.cancel) if stops is not None else None

            def done(_: object) -> None:
                running.pop(reply_id, None)
                if registration is not None:
                    registration.close()

            task.add_done_callback(done)
        return task

    async def _produce(self, emit: Emit | None) -> ResponseRecord:
        plan, completions = self.plan, self.service.completions
        opened = False
        try:
            if emit is None:
                served, result = await completions.complete(
                    plan.request, plan.decision, plan.safety
                )
                self.served = served
                self.text = result.content or ""
                self.calls = dict(enumerate(result.tool_calls))
                finish, usage = result.finish_reason, result.usage
            else:
                served, deltas = await completions.stream(plan.request, plan.decision, plan.safety)
                self.served = served
                emit(_OPENED)
                opened = True
                finish, usage = await self._relay_deltas(deltas, emit)
            record = await self._shielded(self._settle(finish, usage))
        except asyncio.CancelledError:
            record = await self._shielded(self._stop())
        except EmmausError as exc:
            record = await self._shielded(self._fail(exc.to_dict()))
            if emit is None or not opened:
                raise
        except Exception as exc:
            log.exception("response failed")
            error = EmmausError(f"internal error: {type(exc).__name__}")
            record = await self._shielded(self._fail(error.to_dict()))
            if emit is None or not opened:
                raise error from exc
        if emit is not None:
            emit(Finished(record))
        return record

    async def _relay_deltas(
        self, deltas: AsyncIterator[StreamDelta], emit: Emit
    ) -> tuple[str, Usage]:
        saver = _PartialSaver(self)
        usage = Usage()
        try:
            async for delta in deltas:
                if delta.usage is not None:
                    usage = delta.usage
                if delta.content:
                    self.text += delta.content
                    emit(TextPiece(delta.content))
                    saver.offer()
                for piece in delta.tool_calls or ():
                    call = self.calls.setdefault(piece.index, ToolCall("", "", ""))
                    call.id = piece.id or call.id
                    call.name = piece.name or call.name
                    call.arguments += piece.arguments
                    emit(ToolPiece(piece))
                if delta.finish_reason is not None:
                    if delta.finish_reason == "error":
                        raise ProviderStreamBroken("the model reported an error mid-stream")
                    return delta.finish_reason, usage
        finally:
            aclose = getattr(deltas, "aclose", None)
            if aclose is not None:
                await aclose()
        raise ProviderStreamBroken("the model's stream ended without finishing")

    async def _shielded(self, work: Any) -> ResponseRecord:
        record: ResponseRecord = await self.service.tasks.shielded(work)
        return record

    # -- settling ------------------------------------------------------------------------------

    def _calls(self) -> list[dict[str, str]] | None:
        calls = [self.calls[i] for i in sorted(self.calls)]
        return [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls] or None

    def _meta(self, **extra: Any) -> dict[str, Any]:
        meta = dict(self.reply.meta or {})
        meta["safety"] = self.plan.safety.to_dict()
        if self.served is not None:
            meta["safety"] = self.served.safety.to_dict()
            meta["routing_reason"] = self.served.reason
        if self.plan.tradition:
            meta["tradition"] = self.plan.tradition
        meta.update(extra)
        return meta

    async def _write(self, update: ReplyUpdate, usage: Usage) -> ResponseRecord:
        if self.stored:
            reply = await self.service.manager.finish_reply(self.reply, update)
        else:
            values = {k: v for k, v in asdict(update).items() if v is not None}
            reply = replace(self.reply, **values)
        self.reply = reply
        return ResponseRecord(self.chat, reply, usage, stored=self.stored)

    async def _settle(self, finish: str, usage: Usage) -> ResponseRecord:
        served = self.served
        assert served is not None
        decision, counter = self.plan.decision, self.service.counter
        calls = self._calls()
        counted = self.text + "".join(c["name"] + c["arguments"] for c in calls or ())
        update = ReplyUpdate(
            content=self.text,
            status=COMPLETE,
            token_count=counter.count(counted, served.model),
            model=served.model.id,
            provider=served.model.vendor,
            routing_mechanism=decision.mechanism,
            routing_tier=decision.tier_name,
            routing_confidence=decision.confidence,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            finish_reason=finish,
            tool_calls=calls,
            meta=self._meta(),
        )
        record = await self._write(update, usage)
        window = self.plan.window
        if self.stored and self.chat is not None and self._summaries_wanted(window):
            self.service.tasks.spawn(self.service.summarizer.summarize(self.chat.id, window))
        return record

    def _summaries_wanted(self, window: ContextWindow) -> bool:
        settings = self.reply.meta.get("response", {}) if self.reply.meta else {}
        return settings.get("truncation") == "auto" and self.service.summarizer.wanted(window)

    async def _stop(self) -> ResponseRecord:
        return await self._unfinished(STOPPED_ERROR, cancelled=True)

    async def _fail(self, error: dict[str, Any]) -> ResponseRecord:
        return await self._unfinished(error, cancelled=False)

    async def _unfinished(self, error: dict[str, Any], *, cancelled: bool) -> ResponseRecord:
        served = self.served
        update = ReplyUpdate(
            content=self.text,
            status=PARTIAL if self.text else FAILED,
            token_count=self.service.counter.count(self.text) if self.text else 0,
            model=served.model.id if served else None,
            provider=served.model.vendor if served else None,
            tool_calls=self._calls() if cancelled else None,
            error=error,
            meta=self._meta(cancelled=cancelled),
        )
        return await self._write(update, Usage())


class _PartialSaver:
    """The streamed text saved every `partial_save_interval` seconds (one write in flight), so
    a crash keeps what the client already saw."""

    def __init__(self, run: ResponseRun) -> None:
        self.run = run
        self.interval = run.service.settings.partial_save_interval
        self.last = time.monotonic()
        self.writing: asyncio.Task[None] | None = None

    def offer(self) -> None:
        now = time.monotonic()
        busy = self.writing is not None and not self.writing.done()
        if not self.run.stored or now - self.last < self.interval or busy:
            return
        self.last = now
        manager = self.run.service.manager
        self.writing = self.run.service.tasks.spawn(
            manager.save_partial(self.run.reply, self.run.text)
        )
