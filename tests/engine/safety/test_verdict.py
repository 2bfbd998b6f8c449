from emmaus.engine.safety.verdict import CATEGORIES, Verdict, decide


def test_none_verdict():
    assert Verdict.NONE.action == "none" and not Verdict.NONE.flagged
    assert not Verdict.NONE.crisis and set(Verdict.NONE.scores) == set(CATEGORIES)


def test_decide_crisis_wins_and_orders_crisis_first():
    thresholds = dict.fromkeys(CATEGORIES, 0.5)
    actions = {c: "refuse" for c in CATEGORIES} | {"self_harm": "support"}
    scores = dict.fromkeys(CATEGORIES, 0.0) | {"self_harm": 0.9, "illicit": 0.8}
    verdict = decide(scores, thresholds, actions)
    assert verdict.action == "support" and verdict.crisis and verdict.flagged
    assert verdict.categories == ("self_harm", "illicit")
    assert verdict.severity == "high"


def test_decide_disabled_category_and_threshold():
    thresholds = dict.fromkeys(CATEGORIES, 0.5) | {"hate": 0.95}
    actions = dict.fromkeys(CATEGORIES, "refuse") | {"harassment": "none"}
    scores = dict.fromkeys(CATEGORIES, 0.0) | {"hate": 0.9, "harassment": 0.99}
    verdict = decide(scores, thresholds, actions)
    assert verdict == Verdict.NONE or not verdict.flagged
    assert verdict.scores["harassment"] == 0.99
