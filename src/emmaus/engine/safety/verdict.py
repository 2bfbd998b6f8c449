"""Domain types of the safety layer: the ten categories and the `Verdict` every check returns.

Crisis categories are about the person writing (they, or someone with them, may be in danger):
the answer is support and help resources. Harmful categories are requests for content we do not
produce: the answer is a refusal (self-harm instructions are both, and crisis wins)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

Action = Literal["none", "support", "refuse"]
Severity = Literal["none", "low", "medium", "high"]

CRISIS_CATEGORIES: tuple[str, ...] = (
    "self_harm",
    "abuse",
    "violence_threat",
    "medical_emergency",
)
HARMFUL_CATEGORIES: tuple[str, ...] = (
    "violence_instructions",
    "illicit",
    "sexual_minors",
    "hate",
    "harassment",
    "self_harm_instructions",
)
CATEGORIES: tuple[str, ...] = CRISIS_CATEGORIES + HARMFUL_CATEGORIES

# A request for self-harm methods is answered with support, not only a refusal: the person asking
# may be at risk.
SUPPORT_FIRST: frozenset[str] = frozenset({"self_harm_instructions"})

# Highest first: which severity a flagged category carries.
_SEVERITY: dict[str, Severity] = {
    "self_harm": "high",
    "medical_emergency": "high",
    "violence_threat": "high",
    "abuse": "high",
    "sexual_minors": "high",
    "self_harm_instructions": "high",
    "violence_instructions": "medium",
    "illicit": "medium",
    "hate": "medium",
    "harassment": "low",
}
_RANK: dict[Severity, int] = {"none": 0, "low": 1, "medium": 2, "high": 3}


def is_crisis(category: str) -> bool:
    return category in CRISIS_CATEGORIES


def severity_of(categories: tuple[str, ...]) -> Severity:
    best: Severity = "none"
    for category in categories:
        level = _SEVERITY.get(category, "low")
        if _RANK[level] > _RANK[best]:
            best = level
    return best


def zero_scores() -> dict[str, float]:
    return dict.fromkeys(CATEGORIES, 0.0)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the layer decided about one input or output.

    `categories` are the flagged ones (score at or over the policy threshold, action not
    `none`), crisis categories first. `scores` holds every category in [0, 1]."""

    action: Action
    categories: tuple[str, ...]
    scores: dict[str, float] = field(default_factory=zero_scores, hash=False, compare=False)
    severity: Severity = "none"

    NONE: ClassVar[Verdict]

    @property
    def crisis(self) -> bool:
        return any(category in CRISIS_CATEGORIES for category in self.categories)

    @property
    def crisis_categories(self) -> tuple[str, ...]:
        return tuple(c for c in self.categories if c in CRISIS_CATEGORIES)

    @property
    def harmful_categories(self) -> tuple[str, ...]:
        return tuple(c for c in self.categories if c in HARMFUL_CATEGORIES)

    @property
    def flagged(self) -> bool:
        return bool(self.categories)


Verdict.NONE = Verdict(action="none", categories=(), scores=zero_scores(), severity="none")


def decide(
    scores: dict[str, float], thresholds: dict[str, float], actions: dict[str, Action]
) -> Verdict:
    """The verdict for `scores` under a policy's thresholds and actions. Any flagged category whose
    action is `support` makes the whole verdict `support` (crisis wins over refusal)."""
    flagged = [
        c
        for c in CATEGORIES
        if actions.get(c, "none") != "none" and scores.get(c, 0.0) >= thresholds.get(c, 1.01)
    ]
    if not flagged:
        return Verdict(action="none", categories=(), scores=dict(scores), severity="none")
    ordered = tuple(sorted(flagged, key=lambda c: (not is_crisis(c), CATEGORIES.index(c))))
    wanted = {actions[c] for c in ordered}
    action: Action = "support" if "support" in wanted else "refuse"
    return Verdict(
        action=action, categories=ordered, scores=dict(scores), severity=severity_of(ordered)
    )
