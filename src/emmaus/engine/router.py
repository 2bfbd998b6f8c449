"""Routing: turn the caller's routing fields into a model, by the contract's rule that exactly
one of `auto_routing: true`, `model` or `model_family` is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from emmaus.catalog import FAMILIES, Catalog, ModelSpec
from emmaus.engine.analyser import analyse
from emmaus.engine.types import Message
from emmaus.errors import (
    CapabilityNotSupported,
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


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    mechanism: str
    tier: int
    confidence: float
    reason: str
    chain: tuple[ModelSpec, ...]  # the chosen model first, then same tier+family fallbacks
    requested_family: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def model(self) -> ModelSpec:
        return self.chain[0]

    @property
    def tier_name(self) -> str:
        return f"tier_{self.tier}"


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
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def route(self, request: RoutingRequest, messages: Sequence[Message]) -> RoutingDecision:
        mechanism = mechanism_of(request)
        if mechanism == DIRECT:
            return self._direct(request)
        analysis = analyse(messages)
        family = None
        if mechanism == FAMILY:
            family = (request.model_family or "").strip().lower()
            if family not in FAMILIES:
                raise RoutingRuleViolation(
                    f"model_family must be one of {sorted(FAMILIES)}, not {request.model_family!r}"
                )
        chain = self._pick(analysis.tier, family, request.needs)
        chosen = chain[0]
        reason = analysis.reason
        if chosen.tier != analysis.tier:
            reason += f"; no {analysis.tier_name} model, nearest is {chosen.tier_name}"
        reason += f"; chose {chosen.id}"
        if family:
            reason = f"family {FAMILIES[family]}: " + reason
        return RoutingDecision(
            mechanism=mechanism,
            tier=analysis.tier,
            confidence=analysis.confidence,
            reason=reason,
            chain=chain,
            requested_family=family,
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

    def _pick(self, tier: int, family: str | None, needs: frozenset[str]) -> tuple[ModelSpec, ...]:
        capable = [m for m in self.catalog if needs <= m.capabilities]
        if family is not None:
            capable = [m for m in capable if m.family == family]
        if not capable:
            where = f" of family {FAMILIES[family]}" if family else ""
            what = f" supporting {', '.join(sorted(needs))}" if needs else ""
            raise NoModelAvailable(f"the catalog has no model{where}{what}")
        for distance in range(3):
            for candidate_tier in (tier + distance, tier - distance):
                found = [m for m in capable if m.tier == candidate_tier]
                if found:
                    # Fallbacks keep the chosen model's tier and family.
                    best = found[0]
                    return (best, *(m for m in found[1:] if m.family == best.family))
        return (capable[0],)
