"""CompletionService: Completions v2 semantics on domain types. Routes the request, applies the
tradition layer, calls the provider and falls back along the routing chain when a model fails."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, replace

from emmaus.catalog import ModelSpec
from emmaus.engine.providers.base import Provider
from emmaus.engine.router import Router, RoutingDecision, RoutingRequest
from emmaus.engine.traditions import apply_tradition
from emmaus.engine.types import Completion, GenerationParams, Message, StreamDelta
from emmaus.errors import ProviderError, ProviderStreamBroken

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CompletionRequest:
    messages: list[Message]
    routing: RoutingRequest
    params: GenerationParams
    tradition: str | None = None


@dataclass(slots=True)
class Served:
    """Which model actually answered, and why it was chosen."""

    decision: RoutingDecision
    model: ModelSpec
    fallbacks_used: int = 0

    @property
    def reason(self) -> str:
        if self.fallbacks_used:
            return f"{self.decision.reason}; fell back to {self.model.id}"
        return self.decision.reason


class CompletionService:
    def __init__(self, router: Router, providers: Mapping[str, Provider]) -> None:
        self.router = router
        self.providers = providers

    def decide(self, request: CompletionRequest) -> RoutingDecision:
        return self.router.route(request.routing, request.messages)

    def _prepare(self, request: CompletionRequest, model: ModelSpec) -> GenerationParams:
        params = request.params
        if params.max_tokens is None or params.max_tokens > model.max_output_tokens:
            params = replace(params, max_tokens=model.max_output_tokens)
        return params

    def _prompt(self, request: CompletionRequest) -> Sequence[Message]:
        return apply_tradition(request.messages, request.tradition)

    async def complete(
        self, request: CompletionRequest, decision: RoutingDecision | None = None
    ) -> tuple[Served, Completion]:
        decision = decision or self.decide(request)
        prompt = self._prompt(request)
        last_error: ProviderError | None = None
        for attempt, model in enumerate(decision.chain):
            provider = self.providers[model.provider]
            try:
                result = await provider.complete(model, prompt, self._prepare(request, model))
            except ProviderError as exc:
                if not exc.retryable or attempt == len(decision.chain) - 1:
                    raise
                log.warning("model %s failed (%s); falling back", model.id, exc.name)
                last_error = exc
                continue
            return Served(decision, model, attempt), result
        raise last_error or ProviderError("no model could answer")

    async def stream(
        self, request: CompletionRequest, decision: RoutingDecision | None = None
    ) -> tuple[Served, AsyncIterator[StreamDelta]]:
        """Open a stream. Failures before the first delta fall back along the chain and, when
        every model fails, raise here, so the caller can still answer with an HTTP error."""
        decision = decision or self.decide(request)
        prompt = self._prompt(request)
        for attempt, model in enumerate(decision.chain):
            provider = self.providers[model.provider]
            deltas = aiter(provider.stream(model, prompt, self._prepare(request, model)))
            try:
                first = await anext(deltas)
            except StopAsyncIteration:
                error: ProviderError = ProviderStreamBroken(f"{model.id} sent an empty stream")
            except ProviderError as exc:
                error = exc
            else:
                return Served(decision, model, attempt), _prepend(first, deltas)
            await _close(deltas)
            if not error.retryable or attempt == len(decision.chain) - 1:
                raise error
            log.warning("model %s failed before streaming (%s); falling back", model.id, error.name)
        raise ProviderError("no model could answer")


async def _prepend(
    first: StreamDelta, rest: AsyncIterator[StreamDelta]
) -> AsyncIterator[StreamDelta]:
    try:
        yield first
        async for delta in rest:
            yield delta
    finally:
        await _close(rest)


async def _close(iterator: AsyncIterator[StreamDelta]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
