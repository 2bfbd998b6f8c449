"""OpenAI-moderation-shaped results, from our categories. The mapping table lives here only.

Each OpenAI category is a list of terms; a term is a tuple of our categories that must all be
flagged. The OpenAI category is flagged when any term is, and its score is the best term's
lowest score. `violence/graphic` is not modelled (always false, 0.0)."""

from __future__ import annotations

from dataclasses import dataclass

from emmaus.engine.safety.verdict import Verdict

OPENAI_CATEGORIES: dict[str, tuple[tuple[str, ...], ...]] = {
    "harassment": (("harassment",),),
    "harassment/threatening": (("violence_threat",), ("harassment", "violence_instructions")),
    "hate": (("hate",),),
    "hate/threatening": (("hate", "violence_threat"), ("hate", "violence_instructions")),
    "illicit": (("illicit",), ("violence_instructions",)),
    "illicit/violent": (("violence_instructions",),),
    "self-harm": (("self_harm",), ("self_harm_instructions",)),
    "self-harm/intent": (("self_harm",),),
    "self-harm/instructions": (("self_harm_instructions",),),
    "sexual": (("sexual_minors",),),
    "sexual/minors": (("sexual_minors",),),
    "violence": (("violence_threat",), ("violence_instructions",), ("abuse",)),
    "violence/graphic": (),
}


@dataclass(frozen=True, slots=True)
class ModerationResult:
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    crisis: bool
    crisis_categories: list[str]


def to_moderation(verdict: Verdict) -> ModerationResult:
    flagged_ours = set(verdict.categories)
    categories: dict[str, bool] = {}
    scores: dict[str, float] = {}
    for name, terms in OPENAI_CATEGORIES.items():
        categories[name] = any(all(c in flagged_ours for c in term) for term in terms)
        scores[name] = round(
            max((min(verdict.scores.get(c, 0.0) for c in term) for term in terms), default=0.0), 4
        )
    return ModerationResult(
        flagged=any(categories.values()) or verdict.crisis,
        categories=categories,
        category_scores=scores,
        crisis=verdict.crisis,
        crisis_categories=list(verdict.crisis_categories),
    )
