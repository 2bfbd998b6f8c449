"""Evaluation of the safety classifier on labelled rows, beside two baselines.

Per category: recall, precision and false-positive rate (flagged rows among those without the
label). Crisis-any: a row is positive when it has any crisis label and predicted positive when
any crisis category is flagged; its false-positive rate is over benign rows (no label at all),
as is harmful-any's. Baselines: `keyword_baseline` (a naive word list per category) and
`always_none`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from emmaus.engine.safety.dataset import Row
from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.safety.verdict import CATEGORIES, CRISIS_CATEGORIES, HARMFUL_CATEGORIES
from emmaus.engine.types import Message

Predictor = Callable[[Row], frozenset[str]]

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "self_harm": ("suicide", "suicidal", "kill myself", "die", "end my life", "cut myself"),
    "abuse": ("abuse", "abused", "hits me", "beats me", "rape", "raped"),
    "violence_threat": ("kill him", "kill her", "kill them", "shoot", "stab"),
    "medical_emergency": ("overdose", "can't breathe", "cant breathe", "heart attack", "bleeding"),
    "violence_instructions": ("bomb", "explosive", "weapon", "gun"),
    "illicit": ("meth", "cocaine", "drugs", "hack", "steal"),
    "sexual_minors": ("child porn", "underage", "minor"),
    "hate": ("hate", "inferior", "vermin"),
    "harassment": ("harass", "bully", "humiliate", "worthless"),
    "self_harm_instructions": ("how to kill myself", "lethal dose", "painless way"),
}
_KEYWORD_RES = {
    c: re.compile(r"\b(?:" + "|".join(re.escape(k) for k in words) + r")\b")
    for c, words in _KEYWORDS.items()
}


def keyword_baseline(row: Row) -> frozenset[str]:
    text = row.text.lower()
    return frozenset(c for c, pattern in _KEYWORD_RES.items() if pattern.search(text))


def always_none(row: Row) -> frozenset[str]:
    return frozenset()


def layer_predictor(layer: SafetyLayer, client_id: str | None = None) -> Predictor:
    def predict(row: Row) -> frozenset[str]:
        messages = [Message(role="user", content=t) for t in (*row.context, row.text)]
        return frozenset(layer.assess_input(messages, client_id).categories)

    return predict


@dataclass(frozen=True, slots=True)
class Counts:
    positives: int
    tp: int
    fp: int
    fn: int
    negatives: int

    @property
    def recall(self) -> float | None:
        return self.tp / self.positives if self.positives else None

    @property
    def precision(self) -> float | None:
        flagged = self.tp + self.fp
        return self.tp / flagged if flagged else None

    @property
    def fpr(self) -> float | None:
        return self.fp / self.negatives if self.negatives else None

    def to_json(self) -> dict[str, object]:
        return {
            **asdict(self),
            "recall": self.recall,
            "precision": self.precision,
            "fpr": self.fpr,
        }


def _group(rows: Sequence[Row], predicted: Sequence[frozenset[str]], group: set[str]) -> Counts:
    """Any-of-`group` counts; negatives (for the FPR) are the benign rows."""
    tp = fp = fn = positives = negatives = 0
    for row, labels in zip(rows, predicted, strict=True):
        truth = bool(row.labels & group)
        guess = bool(labels & group)
        positives += truth
        negatives += not row.labels
        tp += truth and guess
        fn += truth and not guess
        fp += guess and not row.labels
    return Counts(positives, tp, fp, fn, negatives)


def evaluate(rows: Sequence[Row], predict: Predictor) -> dict[str, Counts]:
    predicted = [predict(row) for row in rows]
    report: dict[str, Counts] = {}
    for category in CATEGORIES:
        tp = fp = fn = positives = 0
        for row, labels in zip(rows, predicted, strict=True):
            truth, guess = category in row.labels, category in labels
            positives += truth
            tp += truth and guess
            fp += guess and not truth
            fn += truth and not guess
        report[category] = Counts(positives, tp, fp, fn, len(rows) - positives)
    report["crisis_any"] = _group(rows, predicted, set(CRISIS_CATEGORIES))
    report["harmful_any"] = _group(rows, predicted, set(HARMFUL_CATEGORIES))
    return report


def _pct(value: float | None) -> str:
    return "   -" if value is None else f"{100 * value:5.1f}"


def table(reports: dict[str, dict[str, Counts]]) -> str:
    """One line per category: n, then recall / precision / FPR (%) for each system."""
    systems = list(reports)
    header = f"{'category':24} {'n':>4} " + " ".join(f"{s[:22]:>22}" for s in systems)
    sub = f"{'':24} {'':>4} " + " ".join(f"{'rec  prec   fpr':>22}" for _ in systems)
    lines = [header, sub]
    for key in [*CATEGORIES, "crisis_any", "harmful_any"]:
        n = reports[systems[0]][key].positives
        cells = []
        for system in systems:
            c = reports[system][key]
            cells.append(f"{_pct(c.recall)} {_pct(c.precision)} {_pct(c.fpr)}".rjust(22))
        lines.append(f"{key:24} {n:>4} " + " ".join(cells))
    return "\n".join(lines)
