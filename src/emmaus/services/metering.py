"""Metering of model calls: what `CompletionService` reports for every call it makes, on every
route (v2, grounded, v1 turns, suggestions, titles, summaries): Prometheus series (calls,
upstream time, time to first token, tokens and cost by model and client, upstream errors,
fallbacks, router decisions) and one usage-ledger row.

A `CallMeter` follows one call with its fallbacks. The service brackets each wait on a
provider with `enter`/`leave` (also telling the request's context, whose union of such waits
is the request's upstream time), and ends the call with `finish` or, through the context
manager, with the exception that ended it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, TypeVar

from emmaus.catalog import ModelSpec
from emmaus.engine.providers.token_estimate import estimate_tokens
from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import Message, StreamDelta, Usage
from emmaus.errors import EmmausError
from emmaus.observability import metrics, request_ids, tracing
from emmaus.usage.ledger import UsageEntry

T = TypeVar("T")


class UsageSink(Protocol):
    def record(self, entry: UsageEntry) -> None: ...


def cost_usd(model: ModelSpec, usage: Usage) -> float:
    """The call's price from the catalog (per 1k tokens in and out)."""
    return (
        usage.prompt_tokens * model.input_cost_per_1k
        + usage.completion_tokens * model.output_cost_per_1k
    ) / 1000


class Meter:
    """`metrics`: record Prometheus series; `client_label`: label token and cost series by
    client (else `-`: one series per model); `sinks`: where each call's usage entry goes (the
    usage ledger, the budgets)."""

    def __init__(
        self, *, metrics: bool = True, client_label: bool = True, sinks: Sequence[UsageSink] = ()
    ) -> None:
        self.metrics = metrics
        self.client_label = client_label
        self.sinks = list(sinks)

    def start(
        self,
        client_id: str | None,
        messages: Sequence[Message],
        decision: RoutingDecision,
        *,
        streamed: bool,
    ) -> CallMeter:
        return CallMeter(self, client_id, messages, decision, streamed)


class CallMeter:
    __slots__ = (
        "_since",
        "chars_out",
        "client_id",
        "context",
        "decision",
        "done",
        "finish_seen",
        "messages",
        "meter",
        "model",
        "span",
        "started",
        "streamed",
        "waited",
    )

    def __init__(
        self,
        meter: Meter,
        client_id: str | None,
        messages: Sequence[Message],
        decision: RoutingDecision,
        streamed: bool,
    ) -> None:
        self.meter = meter
        self.context = request_ids.current()
        self.client_id = client_id or (self.context.client_id if self.context else None)
        self.messages = messages
        self.decision = decision
        self.model = decision.model  # the model tried last
        self.streamed = streamed
        self.started = time.perf_counter()
        self.waited = 0.0
        self.chars_out = 0
        self.finish_seen = False
        self.done = False
        self._since = 0.0
        if self.context is not None:
            self.context.model_calls += 1
        self.span = _call_span(decision.model, streamed) if tracing.enabled() else None

    # -- upstream waits ------------------------------------------------------------------------

    def enter(self) -> None:
        self._since = time.perf_counter()
        if self.context is not None:
            self.context.upstream_enter()

    def leave(self) -> None:
        self.waited += time.perf_counter() - self._since
        if self.context is not None:
            self.context.upstream_leave()

    async def timed(self, work: Awaitable[T]) -> T:
        self.enter()
        try:
            return await work
        finally:
            self.leave()

    # -- events ----------------------------------------------------------------------------------

    def failed(self, model: ModelSpec, error: EmmausError) -> None:
        self.model = model
        if self.meter.metrics:
            metrics.UPSTREAM_ERRORS.labels(model.id, error.name).inc()
        if self.span is not None:
            self.span.add_event("attempt failed", {"emmaus.model": model.id, "error": error.name})

    def fell_back(self, model: ModelSpec) -> None:
        if self.meter.metrics:
            metrics.FALLBACKS.labels(model.id).inc()
        if self.span is not None:
            self.span.add_event("fallback", {"emmaus.model": model.id})

    def __enter__(self) -> CallMeter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if error is not None:
            self.abandon(error)

    def abandon(self, error: BaseException) -> None:
        """The call ended by `error`: a hang-up (cancelled) or a failure."""
        if self.done:
            return
        ended_ok = self.finish_seen and isinstance(error, GeneratorExit)
        cancelled = isinstance(error, asyncio.CancelledError | GeneratorExit)
        status = "ok" if ended_ok else "cancelled" if cancelled else "error"
        usage = self._estimate() if self.chars_out or cancelled else None
        self.finish(self.model, usage, status)

    def _estimate(self) -> Usage:
        """The usage of a stream that ended before the provider reported it."""
        prompt = sum(estimate_tokens(m.content) for m in self.messages)
        return Usage(prompt, (self.chars_out + 3) // 4)

    def finish(self, model: ModelSpec, usage: Usage | None, status: str = "ok") -> None:
        if self.done:
            return
        self.done = True
        usage = usage or Usage()
        elapsed = time.perf_counter() - self.started
        cost = cost_usd(model, usage)
        client = self.client_id
        meter = self.meter
        if meter.metrics:
            child = metrics.child
            name = model.id
            label = (client or "-") if meter.client_label else "-"
            child(metrics.MODEL_CALLS, name, status).inc()
            decision = self.decision
            child(metrics.ROUTER_DECISIONS, decision.mechanism, decision.tier_name).inc()
            if self.waited:
                child(metrics.UPSTREAM_SECONDS, name).observe(self.waited)
                if usage.completion_tokens:
                    speed = usage.completion_tokens / self.waited
                    child(metrics.GENERATION_SPEED, name).observe(speed)
            if usage.prompt_tokens:
                child(metrics.TOKENS, name, label, "input").inc(usage.prompt_tokens)
            if usage.completion_tokens:
                child(metrics.TOKENS, name, label, "output").inc(usage.completion_tokens)
            if cost:
                child(metrics.COST, name, label).inc(cost)
        if meter.sinks:
            context = self.context
            entry = UsageEntry(
                created_at=datetime.now(UTC),
                client_id=client,
                model=model.id,
                route=context.route if context else "internal",
                request_id=context.request_id if context else None,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                cost_usd=cost,
                status=status,
                latency_ms=round(elapsed * 1000),
                streamed=self.streamed,
            )
            for sink in meter.sinks:
                sink.record(entry)
        if self.span is not None:
            _end_call_span(self.span, model, usage, status, cost, self.waited)

    async def watch(
        self, deltas: AsyncIterator[StreamDelta], model: ModelSpec, status: str = "ok"
    ) -> AsyncIterator[StreamDelta]:
        """Relay a stream, metering it: time to first token, the usage its final delta carries,
        and how it ended (a caller that closes it after the finish ended it normally)."""
        usage: Usage | None = None
        self.model = model
        first = True
        try:
            async for delta in deltas:
                if delta.content:
                    self.chars_out += len(delta.content)
                if first and (delta.content or delta.tool_calls):
                    first = False
                    self._first_token(model)
                if delta.usage is not None:
                    usage = delta.usage
                if delta.finish_reason is not None:
                    self.finish_seen = True
                    if delta.finish_reason == "error":
                        status = "error"
                    # Metered before it is handed on: the caller may close us right after.
                    self.finish(model, usage, status)
                yield delta
        except BaseException as exc:
            self.abandon(exc)
            raise
        self.finish(model, usage or self._estimate(), status)

    def _first_token(self, model: ModelSpec) -> None:
        if self.meter.metrics:
            start = self.context.started if self.context is not None else self.started
            elapsed = time.perf_counter() - start
            metrics.child(metrics.TIME_TO_FIRST_TOKEN, model.id).observe(elapsed)


def _call_span(model: ModelSpec, streamed: bool) -> Any:
    """The span of one model call (every attempt of its routing chain), under the request's."""
    return tracing.start(
        f"chat {model.id}",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model.upstream_model or model.id,
            "gen_ai.provider.name": model.provider,
            "emmaus.model": model.id,
            "emmaus.streamed": streamed,
        },
    )


def _end_call_span(
    span: Any, model: ModelSpec, usage: Usage, status: str, cost: float, waited: float
) -> None:
    span.set_attributes(
        {
            "emmaus.served_model": model.id,
            "emmaus.status": status,
            "gen_ai.usage.input_tokens": usage.prompt_tokens,
            "gen_ai.usage.output_tokens": usage.completion_tokens,
            "emmaus.cost_usd": cost,
            "emmaus.upstream_seconds": waited,
        }
    )
    if status == "error":
        tracing.failed(span, f"the call to {model.id} failed")
    span.end()
