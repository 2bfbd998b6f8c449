"""Baselines the trained router is measured against: always tier 2, the old keyword analyser,
the best two-threshold word-count rule (tuned on training data) and random at the training tier
ratio. Each is a predictor: messages → (tier, confidence or None)."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from emmaus.engine.analyser import analyse
from emmaus.engine.routing.data import LabelledRow
from emmaus.engine.types import Message

Predictor = Callable[[Sequence[Message]], tuple[int, float | None]]

_WORD = re.compile(r"\S+")
# Candidate word-count thresholds for the grid search.
_GRID = (*range(1, 41), *range(42, 101, 2), *range(105, 301, 5), *range(320, 1001, 20))


def newest_user_words(messages: Sequence[Message]) -> int:
    for message in reversed(messages):
        if message.role == "user":
            return len(_WORD.findall(message.content or ""))
    return 0


def always(tier: int) -> Predictor:
    def predict(messages: Sequence[Message]) -> tuple[int, float | None]:
        return tier, None

    return predict


def old_analyser(messages: Sequence[Message]) -> tuple[int, float | None]:
    result = analyse(messages)
    return result.tier, result.confidence


@dataclass(frozen=True, slots=True)
class WordCountRule:
    """Tier 1 below `low` words, tier 3 from `high` words, tier 2 between."""

    low: int
    high: int

    def __call__(self, messages: Sequence[Message]) -> tuple[int, float | None]:
        words = newest_user_words(messages)
        return (1 if words < self.low else 3 if words >= self.high else 2), None


def tune_word_count(rows: Sequence[LabelledRow]) -> WordCountRule:
    """The (low, high) pair with the best agreement on `rows` (ties: the smaller pair)."""
    counts = [newest_user_words(row.messages) for row in rows]
    # below[t][g]: rows of tier t with fewer than _GRID[g] words.
    below = {t: [sum(1 for c, r in zip(counts, rows, strict=True) if r.tier == t and c < g)
                 for g in _GRID] for t in (1, 2, 3)}  # fmt: skip
    total_3 = sum(1 for r in rows if r.tier == 3)
    best, best_hits = WordCountRule(1, 1), -1
    for i, low in enumerate(_GRID):
        for j in range(i, len(_GRID)):
            hits = below[1][i] + below[2][j] - below[2][i] + total_3 - below[3][j]
            if hits > best_hits:
                best, best_hits = WordCountRule(low, _GRID[j]), hits
    return best


def tier_ratio(rows: Sequence[LabelledRow]) -> tuple[float, float, float]:
    total = max(1, len(rows))
    return tuple(sum(1 for r in rows if r.tier == t) / total for t in (1, 2, 3))  # type: ignore[return-value]


def random_draws(
    ratio: Sequence[float], count: int, *, seed: int = 20240601, draws: int = 20
) -> list[list[int]]:
    """`draws` independent tier sequences of length `count` at `ratio` (fixed seed)."""
    generator = random.Random(seed)
    return [generator.choices((1, 2, 3), weights=list(ratio), k=count) for _ in range(draws)]
