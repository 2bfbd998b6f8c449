import json
from pathlib import Path

import pytest

from emmaus.engine.routing.baselines import WordCountRule, random_draws, tune_word_count
from emmaus.engine.routing.data import parse_row
from emmaus.engine.routing.evaluation import evaluate_file, format_report, report_to_dict
from emmaus.engine.routing.metrics import Pricing, confusion, macro_f1, reliability, score
from emmaus.engine.types import Message
from tests.engine.routing.fixtures import rows


def test_confusion_and_macro_f1() -> None:
    table = confusion([1, 1, 2, 3, 3], [1, 2, 2, 3, 1])
    assert table == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    # F1 per tier: 1 → 0.5, 2 → 2/3, 3 → 2/3
    assert macro_f1(table) == pytest.approx((0.5 + 2 / 3 + 2 / 3) / 3)
    assert macro_f1(confusion([1, 2, 3], [1, 2, 3])) == 1.0


def test_reliability_table() -> None:
    bins, error = reliability([0.95, 0.95, 0.55, 0.55], [True, True, True, False])
    assert [(b.count, b.agreement) for b in bins] == [(2, 0.5), (2, 1.0)]
    assert bins[0].mean_confidence == pytest.approx(0.55)
    assert error == pytest.approx(0.5 * 0.05 + 0.5 * 0.05)


def test_expected_cost_follows_routed_tier() -> None:
    pricing = Pricing()
    cheap = score("t1", [3, 3], [1, 1], input_tokens=[100, 100], pricing=pricing)
    top = score("t3", [3, 3], [3, 3], input_tokens=[100, 100], pricing=pricing)
    assert cheap.cost is not None and top.cost is not None and cheap.cost < top.cost
    assert top.cost_vs_tier_3 == pytest.approx(1.0)
    assert cheap.under_routed == 1.0 and top.under_routed == 0.0
    assert pricing.cost(3, 3, 1000) == pytest.approx(0.003 + 1.2 * 0.015)


def test_word_count_rule_is_tuned_by_grid_search() -> None:
    data = []
    for i in range(30):
        words = 3 if i % 3 == 0 else 20 if i % 3 == 1 else 80
        tier = 1 + i % 3
        data.append(parse_row({"id": str(i), "query": " ".join(["w"] * words), "tier": tier}))
    rule = tune_word_count(data)
    assert all(rule(r.messages)[0] == r.tier for r in data)
    assert WordCountRule(5, 50)([Message("user", "one two")]) == (1, None)


def test_random_draws_are_seeded() -> None:
    assert random_draws((0.2, 0.5, 0.3), 10) == random_draws((0.2, 0.5, 0.3), 10)
    assert len(random_draws((0.2, 0.5, 0.3), 10, draws=20)) == 20


def test_evaluate_file_reports_every_baseline(tmp_path: Path) -> None:
    path = tmp_path / "labelled.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in rows()))
    report = evaluate_file(path)
    names = [r.name for r in report.results]
    for name in (
        "router (cost)",
        "router (balanced)",
        "router (quality)",
        "always tier 2",
        "always tier 3",
        "old analyser",
        "word-count rule",
        "random (train ratio)",
    ):
        assert name in names
    assert report.rows == 30 and report.tier_counts == (10, 10, 10)
    costs = [report.get(f"router ({p})").cost or 0.0 for p in ("cost", "balanced", "quality")]
    assert costs == sorted(costs)
    assert report.get("always tier 3").cost_vs_tier_3 == pytest.approx(1.0)
    assert report.get("router (balanced)").reliability
    text = format_report(report)
    assert "router (balanced)" in text and "word-count rule" in text and "Reliability" in text
    json.dumps(report_to_dict(report))
