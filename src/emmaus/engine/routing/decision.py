"""The trained auto-router's decision: a conversation → a tier with calibrated probabilities, the
signals behind it and a readable reason. `preference` moves the thresholds: "quality" never picks
below the most probable tier and climbs when a higher tier is moderately likely; "cost" never
picks above it and descends unless the higher tier is clearly likely."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from emmaus.engine.routing.explain import top_signals
from emmaus.engine.routing.model import DEFAULT_ARTIFACT, DEFAULT_THRESHOLDS, TierModel
from emmaus.engine.types import Message

Preference = Literal["quality", "balanced", "cost"]
PREFERENCES: tuple[Preference, ...] = ("cost", "balanced", "quality")


@dataclass(frozen=True, slots=True)
class TierDecision:
    tier: int
    confidence: float  # calibrated probability that `tier` is the labelled tier
    probabilities: tuple[float, float, float]
    signals: tuple[str, ...]
    reason: str

    @property
    def tier_name(self) -> str:
        return f"tier_{self.tier}"


def choose_tier(
    probabilities: Sequence[float],
    preference: Preference,
    thresholds: dict[str, tuple[float, float]] | None = None,
) -> int:
    """Argmax for "balanced"; for the others 1 + [p2+p3 >= a] + [p3 >= b], bounded by the argmax
    on the side the preference leans away from (so cost <= balanced <= quality always)."""
    p1, p2, p3 = (float(p) for p in probabilities)
    balanced = 1 + max(range(3), key=lambda k: (p1, p2, p3)[k])
    if preference == "balanced":
        return balanced
    if preference not in ("quality", "cost"):
        raise ValueError(f"preference must be quality, balanced or cost, not {preference!r}")
    a, b = (thresholds or {}).get(preference, DEFAULT_THRESHOLDS[preference])
    ruled = 1 + int(p2 + p3 >= a) + int(p3 >= b)
    return max(balanced, ruled) if preference == "quality" else min(balanced, ruled)


class TierClassifier:
    """Loaded once (the shipped artifact is cached per process); `classify` is thread-safe."""

    _cache: dict[str, TierModel] = {}
    _lock = threading.Lock()

    def __init__(self, model: TierModel) -> None:
        self.model = model

    @classmethod
    def load(cls, path: str | None = None) -> TierClassifier:
        key = str(Path(path).resolve()) if path else str(DEFAULT_ARTIFACT)
        with cls._lock:
            model = cls._cache.get(key)
            if model is None:
                model = TierModel.load(key)
                cls._cache[key] = model
        return cls(model)

    def probabilities(self, messages: Sequence[Message]) -> tuple[float, float, float]:
        p = self.model.probabilities(self.model.features(messages))
        return float(p[0]), float(p[1]), float(p[2])

    def classify(
        self, messages: Sequence[Message], preference: Preference = "balanced"
    ) -> TierDecision:
        features = self.model.features(messages)
        p = self.model.probabilities(features)
        probabilities = (float(p[0]), float(p[1]), float(p[2]))
        tier = choose_tier(probabilities, preference, self.model.thresholds)
        signals = top_signals(features, self.model.weights, tier)
        confidence = probabilities[tier - 1]
        shown = ", ".join(f"p{t} {q:.2f}" for t, q in zip((1, 2, 3), probabilities, strict=True))
        why = "; ".join(signals) if signals else "no strong signal (the usual mix of queries)"
        lean = "" if preference == "balanced" else f", {preference} preference"
        reason = f"tier_{tier} ({shown}{lean}): {why}"
        return TierDecision(tier, round(confidence, 4), _rounded(p), signals, reason)


def _rounded(p: np.ndarray) -> tuple[float, float, float]:
    return round(float(p[0]), 4), round(float(p[1]), 4), round(float(p[2]), 4)
