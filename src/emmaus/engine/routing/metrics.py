"""Scores of tier predictions against labels: agreement, macro-F1, confusion matrix, reliability
table (calibration), and the expected spend of a routing under example prices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

TIERS = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class Pricing:
    """Example USD prices per 1k tokens by tier, and the assumed answer length of each labelled
    tier: what a task needs is a property of the task, so output tokens follow the label while
    the price follows the tier routed to. Input tokens are estimated as characters / 4."""

    input_per_1k: tuple[float, float, float] = (0.0001, 0.0005, 0.003)
    output_per_1k: tuple[float, float, float] = (0.0002, 0.0015, 0.015)
    output_tokens: tuple[int, int, int] = (60, 350, 1200)

    def cost(self, routed: int, labelled: int, input_tokens: int) -> float:
        k = routed - 1
        out = self.output_tokens[labelled - 1]
        return (input_tokens * self.input_per_1k[k] + out * self.output_per_1k[k]) / 1000.0


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    mean_confidence: float
    agreement: float


@dataclass(slots=True)
class Scores:
    name: str
    accuracy: float
    macro_f1: float
    confusion: list[list[float]]  # rows: labelled tier 1..3; columns: predicted tier 1..3
    under_routed: float  # share routed below the label (quality risk)
    over_routed: float  # share routed above the label (wasted spend)
    cost: float | None = None  # expected USD for the whole set
    cost_vs_tier_3: float | None = None  # cost / cost of always tier 3
    reliability: list[ReliabilityBin] = field(default_factory=list)
    calibration_error: float | None = None  # expected calibration error (weighted |gap|)
    note: str = ""


def confusion(labels: Sequence[int], predicted: Sequence[int]) -> list[list[float]]:
    table = [[0.0] * 3 for _ in TIERS]
    for truth, guess in zip(labels, predicted, strict=True):
        table[truth - 1][guess - 1] += 1
    return table


def macro_f1(table: list[list[float]]) -> float:
    scores = []
    for k in range(3):
        tp = table[k][k]
        predicted = sum(table[r][k] for r in range(3))
        actual = sum(table[k])
        if actual == 0 and predicted == 0:
            continue
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        scores.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return sum(scores) / len(scores) if scores else 0.0


def reliability(
    confidences: Sequence[float], correct: Sequence[bool], bins: int = 10
) -> tuple[list[ReliabilityBin], float]:
    """Equal-width confidence bins (non-empty ones) and the expected calibration error."""
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for conf, ok in zip(confidences, correct, strict=True):
        grouped[min(bins - 1, max(0, int(conf * bins)))].append((conf, ok))
    table, total, error = [], len(confidences), 0.0
    for k, members in enumerate(grouped):
        if not members:
            continue
        mean = sum(c for c, _ in members) / len(members)
        agree = sum(1 for _, ok in members if ok) / len(members)
        table.append(ReliabilityBin(k / bins, (k + 1) / bins, len(members), mean, agree))
        error += len(members) / max(1, total) * abs(mean - agree)
    return table, error


def score(
    name: str,
    labels: Sequence[int],
    predicted: Sequence[int],
    *,
    input_tokens: Sequence[int],
    pricing: Pricing,
    confidences: Sequence[float] | None = None,
    note: str = "",
) -> Scores:
    n = max(1, len(labels))
    table = confusion(labels, predicted)
    hits = sum(table[k][k] for k in range(3))
    under = sum(1 for t, p in zip(labels, predicted, strict=True) if p < t) / n
    over = sum(1 for t, p in zip(labels, predicted, strict=True) if p > t) / n
    cost = sum(
        pricing.cost(p, t, i) for t, p, i in zip(labels, predicted, input_tokens, strict=True)
    )
    top = sum(pricing.cost(3, t, i) for t, i in zip(labels, input_tokens, strict=True))
    result = Scores(name, hits / n, macro_f1(table), table, under, over, cost,
                    cost / top if top else None, note=note)  # fmt: skip
    if confidences is not None:
        correct = [t == p for t, p in zip(labels, predicted, strict=True)]
        result.reliability, result.calibration_error = reliability(confidences, correct)
    return result


def average(name: str, runs: Sequence[Scores], note: str = "") -> Scores:
    """The mean of several scorings (the random baseline's draws)."""
    k = len(runs)
    table = [[sum(r.confusion[i][j] for r in runs) / k for j in range(3)] for i in range(3)]
    costs = [r.cost or 0.0 for r in runs]
    ratios = [r.cost_vs_tier_3 or 0.0 for r in runs]
    return Scores(
        name,
        sum(r.accuracy for r in runs) / k,
        sum(r.macro_f1 for r in runs) / k,
        table,
        sum(r.under_routed for r in runs) / k,
        sum(r.over_routed for r in runs) / k,
        sum(costs) / k,
        sum(ratios) / k,
        note=note,
    )
