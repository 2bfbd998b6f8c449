"""CompletionService: Completions v2 semantics on domain types. Routes the request, judges it and
screens the answer (`Safeguard`), applies the tradition layer, calls the provider and falls back
along the routing chain when a model fails."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from emmaus.catalog import ModelSpec
from emmaus.engine.providers.base import Provider
from emmaus.engine.router import Router, RoutingDecision, RoutingRequest
from emmaus.engine.traditions import apply_tradition
from emmaus.engine.types import Completion, GenerationParams, Message, StreamDelta
from emmaus.errors import ProviderError, ProviderStreamBroken
from emmaus.observability import tracing
from emmaus.services.metering import CallMeter, Meter
from emmaus.services.safeguard import Safeguard, SafetyOutcome, Screening

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CompletionRequest:
    messages: list[Message]
    routing: RoutingRequest
    params: GenerationParams
    tradition: str | None = None
    client_id: str | None = None  # whose safety policy applies
    screening: Screening = "full"


@dataclass(slots=True)
class Served:
    """Which model actually answered, and why it was chosen."""

    decision: RoutingDecision
    model: ModelSpec
    fallbacks_used: int = 0
    safety: SafetyOutcome = field(default_factory=SafetyOutcome)

    @property
    def reason(self) -> str:
        reason = self.decision.reason
        if self.fallbacks_used:
            reason += f"; fell back to {self.model.id}"
        if self.safety.answered_by_layer:
            verdict = self.safety.input
            reason += f"; safety: {verdict.action} ({', '.join(verdict.categories)}), answered by "
            reason += "the safety layer"
        return reason


class CompletionService:
    def __init__(
        self,
        router: Router,
        providers: Mapping[str, Provider],
        safeguard: Safeguard | None = None,
        meter: Meter | None = None,
    ) -> None:
        self.router = router
        self.providers = providers
        self.safeguard = safeguard or Safeguard(None)
        self.meter = meter or Meter()  # metrics and the usage ledger, for every call

    def decide(self, request: CompletionRequest) -> RoutingDecision:
        routing = request.routing
        if not routing.prompt_tokens:  # models whose window cannot hold it are ruled out
            output = request.params.max_tokens or 0
            routing = replace(routing, prompt_tokens=prompt_tokens(request), output_tokens=output)
        if not tracing.enabled():
            return self.router.route(routing, request.messages)
        with tracing.span("emmaus.routing") as span:
            decision = self.router.route(routing, request.messages)
            span.set_attributes(
                {
                    "emmaus.routing.mechanism": decision.mechanism,
                    "emmaus.routing.tier": decision.tier_name,
                    "emmaus.routing.confidence": decision.confidence,
                    "emmaus.routing.model": decision.model.id,
                    "emmaus.routing.chain": [m.id for m in decision.chain],
                }
            )
        return decision

    def judge(self, request: CompletionRequest) -> SafetyOutcome:
        """The safety layer's verdict on the request (cheap; no model is called)."""
        return self.safeguard.assess(request.messages, request.client_id, request.screening)

    def _prepare(self, request: CompletionRequest, model: ModelSpec) -> GenerationParams:
        params = request.params
        if params.max_tokens is None or params.max_tokens > model.max_output_tokens:
            params = replace(params, max_tokens=model.max_output_tokens)
        return params

    def _prompt(self, request: CompletionRequest) -> Sequence[Message]:
        return apply_tradition(request.messages, request.tradition)

    async def complete(
        self,
        request: CompletionRequest,
        decision: RoutingDecision | None = None,
        safety: SafetyOutcome | None = None,
    ) -> tuple[Served, Completion]:
        """The whole answer. `safety`: the request's verdict when the caller judged it already."""
        decision = decision or self.decide(request)
        safety = safety or self.judge(request)
        with self._meter(request, decision, streamed=False) as call:
            if safety.answered_by_layer:
                answer = self.safeguard.layer_answer(safety, request.client_id, request.tradition)
                call.finish(decision.model, answer.usage, "safety")
                return Served(decision, decision.model, safety=safety), answer
            prompt = self._prompt(request)
            last_error: ProviderError | None = None
            for attempt, model in enumerate(decision.chain):
                provider = self.providers[model.provider]
                params = self._prepare(request, model)
                try:
                    result = await call.timed(provider.complete(model, prompt, params))
                except ProviderError as exc:
                    call.failed(model, exc)
                    if not exc.retryable or attempt == len(decision.chain) - 1:
                        raise
                    log.warning("model %s failed (%s); falling back", model.id, exc.name)
                    call.fell_back(model)
                    last_error = exc
                    continue
                screened = self.safeguard.screen_completion(
                    result, safety, request.client_id, on=request.screening != "off"
                )
                call.finish(model, result.usage)
                return Served(decision, model, attempt, safety), screened
            raise last_error or ProviderError("no model could answer")

    async def stream(
        self,
        request: CompletionRequest,
        decision: RoutingDecision | None = None,
        safety: SafetyOutcome | None = None,
    ) -> tuple[Served, AsyncIterator[StreamDelta]]:
        """Open a stream. Failures before the first delta fall back along the chain and, when
        every model fails, raise here, so the caller can still answer with an HTTP error."""
        decision = decision or self.decide(request)
        safety = safety or self.judge(request)
        with self._meter(request, decision, streamed=True) as call:
            if safety.answered_by_layer:
                answer = self.safeguard.layer_answer(safety, request.client_id, request.tradition)
                stream = call.watch(_answered(answer), decision.model, "safety")
                return Served(decision, decision.model, safety=safety), stream
            prompt = self._prompt(request)
            for attempt, model in enumerate(decision.chain):
                provider = self.providers[model.provider]
                deltas = aiter(provider.stream(model, prompt, self._prepare(request, model)))
                try:
                    first = await call.timed(anext(deltas))
                except StopAsyncIteration:
                    error: ProviderError = ProviderStreamBroken(f"{model.id} sent an empty stream")
                except ProviderError as exc:
                    error = exc
                else:
                    stream = _prepend(first, deltas, call)
                    if self.safeguard.layer is not None and request.screening != "off":
                        stream = self.safeguard.screen_stream(stream, safety, request.client_id)
                    return Served(decision, model, attempt, safety), call.watch(stream, model)
                call.failed(model, error)
                await _close(deltas)
                if not error.retryable or attempt == len(decision.chain) - 1:
                    raise error
                log.warning(
                    "model %s failed before streaming (%s); falling back", model.id, error.name
                )
                call.fell_back(model)
            raise ProviderError("no model could answer")

    def _meter(
        self, request: CompletionRequest, decision: RoutingDecision, *, streamed: bool
    ) -> CallMeter:
        return self.meter.start(request.client_id, request.messages, decision, streamed=streamed)


def prompt_tokens(request: CompletionRequest) -> int:
    """An estimate of the prompt (~4 characters a token; the provider counts exactly later)."""
    return sum(len(m.content or "") for m in request.messages) // 4 + 1


async def _answered(answer: Completion) -> AsyncIterator[StreamDelta]:
    """The layer's own answer as a stream: the text, then the finish."""
    yield StreamDelta(content=answer.content)
    yield StreamDelta(finish_reason=answer.finish_reason, usage=answer.usage)


async def _prepend(
    first: StreamDelta, rest: AsyncIterator[StreamDelta], call: CallMeter
) -> AsyncIterator[StreamDelta]:
    """`first`, then the rest, each wait on the provider timed as upstream time."""
    try:
        yield first
        while True:
            call.enter()
            try:
                delta = await anext(rest)
            except StopAsyncIteration:
                break
            finally:
                call.leave()
            yield delta
    finally:
        await _close(rest)


async def _close(iterator: AsyncIterator[StreamDelta]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
