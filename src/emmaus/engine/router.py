"""Routing: turn the caller's routing fields into a model, by the contract's rule that exactly
one of `auto_routing: true`, `model` or `model_family` is given. Auto and family routing ask the
trained tier classifier (`emmaus.engine.routing`) how capable a model the conversation needs,
then pick the best catalog model of that tier that supports what the request uses and whose
context window holds it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from emmaus.catalog import FAMILIES, Catalog, ModelSpec
from emmaus.engine.routing import Preference, TierClassifier, TierDecision
from emmaus.engine.types import Message
from emmaus.errors import (
    CapabilityNotSupported,
    ContextTooLong,
    ModelNotFound,
    NoModelAvailable,
    RoutingRuleViolation,
)

AUTO = "auto_routing"
FAMILY = "model_family"
DIRECT = "direct_model_selection"

ROUTING_RULE = (
    "exactly one routing mechanism is required: set auto_routing to true, or give a model id, "
    "or give a model_family"
)
# The OpenAI SDK always sends `model`; these values mean "no model chosen".
_NO_MODEL = frozenset({"", "auto"})


@dataclass(frozen=True, slots=True)
class RoutingRequest:
    auto_routing: bool | None = None
    model: str | None = None
    model_family: str | None = None
    needs: frozenset[str] = frozenset()  # capabilities the request uses: tools, streaming, json
    preference: Preference = "balanced"  # quality | balanced | cost: moves the tier thresholds
    prompt_tokens: int = 0  # with the output a model may give, what its window must hold
    output_tokens: int = 0  # requested (0: the model's own maximum counts as the output)


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    mechanism: str
    tier: int
    confidence: float
    reason: str
    chain: tuple[ModelSpec, ...]  # the chosen model first, then same tier+family fallbacks
    requested_family: str | None = None
    notes: tuple[str, ...] = field(default=())
    preference: Preference = "balanced"
    probabilities: tuple[float, float, float] | None = None  # auto and family routing
    signals: tuple[str, ...] = ()

    @property
    def model(self) -> ModelSpec:
        return self.chain[0]

    @property
    def tier_name(self) -> str:
        return f"tier_{self.tier}"


def needed(request: RoutingRequest, model: ModelSpec) -> int:
    """The window `model` needs for `request`: the prompt and the output it would give."""
    output = model.max_output_tokens
    if request.output_tokens:
        output = min(request.output_tokens, output)
    return request.prompt_tokens + output


def mechanism_of(request: RoutingRequest) -> str:
    chosen = []
    if request.auto_routing is True:
        chosen.append(AUTO)
    if request.model is not None and request.model.strip() not in _NO_MODEL:
        chosen.append(DIRECT)
    if request.model_family is not None:
        chosen.append(FAMILY)
    if len(chosen) != 1:
        given = ", ".join(chosen) if chosen else "none"
        raise RoutingRuleViolation(f"{ROUTING_RULE} (given: {given})")
    return chosen[0]


class Router:
    def __init__(self, catalog: Catalog, classifier: TierClassifier | None = None) -> None:
        self.catalog = catalog
        self.classifier = classifier or TierClassifier.load()

    def route(self, request: RoutingRequest, messages: Sequence[Message]) -> RoutingDecision:
        mechanism = mechanism_of(request)
        if mechanism == DIRECT:
            return self._direct(request)
        analysis: TierDecision = self.classifier.classify(messages, request.preference)
        family = None
        if mechanism == FAMILY:
            family = (request.model_family or "").strip().lower()
            if family not in FAMILIES:
                raise RoutingRuleViolation(
                    f"model_family must be one of {sorted(FAMILIES)}, not {request.model_family!r}"
                )
        chain = self._pick(analysis.tier, family, request)
        chosen = chain[0]
        reason = analysis.reason
        if chosen.tier != analysis.tier:
            reason += f"; no {analysis.tier_name} model, nearest is {chosen.tier_name}"
        reason += f"; chose {chosen.id}"
        if len(chain) > 1:
            reason += f" (then {', '.join(m.id for m in chain[1:])})"
        if family:
            reason = f"family {FAMILIES[family]}: " + reason
        return RoutingDecision(
            mechanism=mechanism,
            tier=analysis.tier,
            confidence=analysis.confidence,
            reason=reason,
            chain=chain,
            requested_family=family,
            preference=request.preference,
            probabilities=analysis.probabilities,
            signals=analysis.signals,
        )

    def _direct(self, request: RoutingRequest) -> RoutingDecision:
        model_id = (request.model or "").strip()
        spec = self.catalog.get(model_id)
        if spec is None:
            raise ModelNotFound(f"Unknown model {model_id!r}: GET /ai/v2/models lists the catalog")
        missing = request.needs - spec.capabilities
        if missing:
            raise CapabilityNotSupported(
                f"model {spec.id!r} does not support {', '.join(sorted(missing))}"
            )
        return RoutingDecision(
            mechanism=DIRECT,
            tier=spec.tier,
            confidence=1.0,
            reason=f"model {spec.id} chosen by the caller",
            chain=(spec,),
        )

    def _pick(
        self, tier: int, family: str | None, request: RoutingRequest
    ) -> tuple[ModelSpec, ...]:
        needs = request.needs
        capable = [m for m in self.catalog if needs <= m.capabilities]
        if family is not None:
            capable = [m for m in capable if m.family == family]
        if not capable:
            where = f" of family {FAMILIES[family]}" if family else ""
            what = f" supporting {', '.join(sorted(needs))}" if needs else ""
            raise NoModelAvailable(f"the catalog has no model{where}{what}")
        if request.prompt_tokens:
            holding = [m for m in capable if m.context_window >= needed(request, m)]
            if not holding:
                widest = max(capable, key=lambda m: m.context_window)
                raise ContextTooLong(
                    f"the request needs about {needed(request, widest):,} tokens of context; "
                    f"the largest window that fits the routing is {widest.context_window:,}"
                )
            capable = holding
        for distance in range(3):
            for candidate_tier in (tier + distance, tier - distance):
                found = [m for m in capable if m.tier == candidate_tier]
                if found:
                    # Fallbacks keep the chosen model's tier and family.
                    best = found[0]
                    return (best, *(m for m in found[1:] if m.family == best.family))
        return (capable[0],)
