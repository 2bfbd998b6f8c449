"""Evaluate the trained router on labelled rows beside its baselines, in one run:

- the router at each preference (cost, balanced, quality), with its reliability table;
- always tier 2, always tier 3 (the spend reference), the old keyword analyser;
- the best two-threshold word-count rule, tuned on the artifact's TRAINING rows (kept in it);
- random at the training tier ratio (fixed seed, mean of 20 draws).

`evaluate_file(path)` → `Report`; `format_report(report)` → plain text; `report_to_dict` → JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emmaus.engine.routing.baselines import (
    WordCountRule,
    always,
    old_analyser,
    random_draws,
    tier_ratio,
    tune_word_count,
)
from emmaus.engine.routing.data import LabelledRow, load_rows
from emmaus.engine.routing.decision import PREFERENCES, TierClassifier, choose_tier
from emmaus.engine.routing.metrics import Pricing, Scores, average, score


@dataclass(slots=True)
class Report:
    dataset: str
    rows: int
    tier_counts: tuple[int, int, int]
    results: list[Scores]
    pricing: Pricing
    word_count_rule: tuple[int, int]
    training_ratio: tuple[float, float, float]
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> Scores:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)


def _input_tokens(row: LabelledRow) -> int:
    return max(1, sum(len(m.content or "") for m in row.messages) // 4)


def evaluate_rows(
    rows: Sequence[LabelledRow],
    classifier: TierClassifier,
    *,
    dataset: str = "<rows>",
    word_rule: WordCountRule | None = None,
    ratio: Sequence[float] | None = None,
    pricing: Pricing | None = None,
) -> Report:
    pricing = pricing or Pricing()
    meta = classifier.model.meta
    if word_rule is None:
        low_high = meta.get("word_count_rule")
        word_rule = WordCountRule(*low_high) if low_high else tune_word_count(rows)
    if ratio is None:
        ratio = meta.get("tier_ratio") or tier_ratio(rows)
    labels = [r.tier for r in rows]
    tokens = [_input_tokens(r) for r in rows]

    def scored(name: str, predicted: Sequence[int], conf: Sequence[float] | None = None,
               note: str = "") -> Scores:  # fmt: skip
        return score(name, labels, predicted, input_tokens=tokens, pricing=pricing,
                     confidences=conf, note=note)  # fmt: skip

    results = []
    probabilities = [classifier.probabilities(r.messages) for r in rows]
    thresholds = classifier.model.thresholds
    for preference in PREFERENCES:
        tiers = [choose_tier(p, preference, thresholds) for p in probabilities]
        conf = [p[t - 1] for p, t in zip(probabilities, tiers, strict=True)]
        results.append(scored(f"router ({preference})", tiers, conf))
    for tier in (2, 3):
        predict = always(tier)
        results.append(scored(f"always tier {tier}", [predict(r.messages)[0] for r in rows]))
    old = [old_analyser(r.messages) for r in rows]
    results.append(scored("old analyser", [t for t, _ in old], [c or 0.0 for _, c in old]))
    results.append(
        scored(
            "word-count rule",
            [word_rule(r.messages)[0] for r in rows],
            note=f"tier 1 below {word_rule.low} words, tier 3 from {word_rule.high}",
        )
    )
    draws = random_draws(ratio, len(rows))
    shown = "/".join(f"{x:.2f}" for x in ratio)
    results.append(
        average(
            "random (train ratio)",
            [scored("random", d) for d in draws],
            note=f"ratio {shown}, seed fixed, mean of {len(draws)}",
        )
    )
    counts = tuple(sum(1 for t in labels if t == k) for k in (1, 2, 3))
    notes = [
        "agreement = share of rows whose routed tier equals the label",
        "cost: input = characters/4 tokens at the routed tier's price; output tokens follow the "
        f"label ({'/'.join(str(t) for t in pricing.output_tokens)} for tiers 1/2/3)",
    ]
    return Report(dataset, len(rows), counts, results, pricing,  # type: ignore[arg-type]
                  (word_rule.low, word_rule.high), tuple(ratio), notes)  # type: ignore[arg-type]  # fmt: skip


def evaluate_file(path: str | Path, artifact: str | None = None) -> Report:
    rows = load_rows(path)
    return evaluate_rows(rows, TierClassifier.load(artifact), dataset=str(path))


def format_report(report: Report) -> str:
    counts = "/".join(str(c) for c in report.tier_counts)
    title = f"Routing evaluation: {report.dataset} ({report.rows} rows, tiers 1/2/3: {counts})"
    lines = [title, ""]
    header = f"{'predictor':<22}{'agree':>7}{'macroF1':>9}{'under':>7}{'over':>7}"
    header += f"{'cost $':>10}{'vs t3':>7}  note"
    lines += [header, "-" * len(header)]
    for r in report.results:
        cost = f"{r.cost:.4f}" if r.cost is not None else "-"
        ratio = f"{r.cost_vs_tier_3:.0%}" if r.cost_vs_tier_3 is not None else "-"
        lines.append(
            f"{r.name:<22}{r.accuracy:>7.1%}{r.macro_f1:>9.3f}{r.under_routed:>7.1%}"
            f"{r.over_routed:>7.1%}{cost:>10}{ratio:>7}  {r.note}".rstrip()
        )
    balanced = report.get("router (balanced)")
    lines += ["", "Confusion, router (balanced): rows labelled tier, columns routed tier"]
    lines.append(f"{'':>10}{'->1':>7}{'->2':>7}{'->3':>7}")
    for k, row in enumerate(balanced.confusion, start=1):
        lines.append(f"{'tier ' + str(k):>10}" + "".join(f"{v:>7.0f}" for v in row))
    lines += ["", "Reliability, router (balanced): bin, rows, mean confidence, agreement"]
    for b in balanced.reliability:
        span = f"{b.low:.1f}-{b.high:.1f}"
        lines.append(f"  {span}  {b.count:>5}  {b.mean_confidence:>6.3f}  {b.agreement:>6.3f}")
    if balanced.calibration_error is not None:
        lines.append(f"  expected calibration error {balanced.calibration_error:.3f}")
    lines += ["", *(f"note: {n}" for n in report.notes)]
    return "\n".join(lines)


def report_to_dict(report: Report) -> dict[str, Any]:
    return asdict(report)
