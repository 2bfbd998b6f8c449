import json
from pathlib import Path

import pytest

from emmaus.engine.routing.decision import PREFERENCES, TierClassifier, choose_tier
from emmaus.engine.routing.model import DEFAULT_ARTIFACT, ArtifactError
from emmaus.engine.types import Message

HARD_CODE_TASK = [
    Message(
        "user",
        "I'm writing a small FastAPI service in Python for our church's room bookings. Set up "
        "the SQLAlchemy models for rooms, bookings and users, with a unique constraint on "
        "overlapping bookings.",
    ),
    Message(
        "assistant",
        "Here are the models:\n```python\nclass Room(Base):\n    __tablename__ = 'rooms'\n"
        "    id = mapped_column(Integer, primary_key=True)\n```\n" * 6,
    ),
]


@pytest.fixture(scope="module")
def classifier() -> TierClassifier:
    return TierClassifier.load()


def _user(text: str) -> list[Message]:
    return [Message("user", text)]


def test_short_but_hard_proof_is_tier_3(classifier: TierClassifier) -> None:
    decision = classifier.classify(_user("Prove that the square root of 2 is irrational"))
    assert decision.tier == 3
    assert any("proof" in s for s in decision.signals)


def test_long_but_easy_message_ending_in_one_fact_is_tier_1(classifier: TierClassifier) -> None:
    text = (
        "Hi there! I hope your week is going well. Our house group has been meeting on "
        "Tuesday nights for about three years now and we have slowly worked through most of "
        "the gospels, with plenty of tea and far too many biscuits along the way. Last week "
        "somebody suggested that we try a very short letter next, so that the newer members "
        "can finish a whole book in one evening and feel a sense of achievement. I said I "
        "would look it up before we meet again, so here is my question: how many chapters "
        "does Philemon have?"
    )
    decision = classifier.classify(_user(text))
    assert decision.tier == 1
    assert decision.confidence > 0.5


def test_acknowledgement_after_a_hard_exchange_is_tier_1(classifier: TierClassifier) -> None:
    messages = [*HARD_CODE_TASK, Message("user", "brilliant, thank you so much!")]
    decision = classifier.classify(messages)
    assert decision.tier == 1


def test_next_step_inside_a_coding_task_stays_tier_3(classifier: TierClassifier) -> None:
    decision = classifier.classify([*HARD_CODE_TASK, Message("user", "and the next step?")])
    assert decision.tier == 3


@pytest.mark.parametrize(
    "text, tier",
    [
        ("good morning!", 1),
        ("What is the capital of Kenya?", 1),
        ("Write a short prayer for a family whose dog just died.", 2),
        ("Explain why the Reformation started in Germany.", 2),
        ("Write a 12-week youth curriculum on the Gospel of Mark with weekly objectives.", 3),
        ("my javascript fetch() call returns a pending Promise, how do i fix it", 3),
    ],
)
def test_everyday_queries(classifier: TierClassifier, text: str, tier: int) -> None:
    assert classifier.classify(_user(text)).tier == tier


CONVERSATIONS = [
    _user("hey"),
    _user("Who built the first temple in Jerusalem?"),
    _user("Give me two tips for memorising scripture."),
    _user("What are the main views on the millennium, briefly?"),
    _user("Outline a retreat weekend for 40 teenagers."),
    _user("Write a regex that matches UK postcodes."),
    [*HARD_CODE_TASK, Message("user", "ok, and the tests?")],
]


@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_preference_moves_tiers_monotonically(
    classifier: TierClassifier, messages: list[Message]
) -> None:
    cost, balanced, quality = (classifier.classify(messages, p).tier for p in PREFERENCES)
    assert cost <= balanced <= quality


def test_choose_tier_thresholds_are_monotone_over_a_grid() -> None:
    steps = [i / 20 for i in range(21)]
    for p1 in steps:
        for p2 in steps:
            p3 = 1.0 - p1 - p2
            if p3 < -1e-9:
                continue
            probs = (p1, p2, max(0.0, p3))
            cost, balanced, quality = (choose_tier(probs, p) for p in PREFERENCES)
            assert cost <= balanced <= quality


def test_quality_climbs_and_cost_descends_near_the_boundary() -> None:
    assert choose_tier((0.25, 0.42, 0.33), "balanced") == 2
    assert choose_tier((0.25, 0.42, 0.33), "quality") == 3
    assert choose_tier((0.42, 0.33, 0.25), "cost") == 1
    assert choose_tier((0.05, 0.15, 0.80), "cost") == 3
    with pytest.raises(ValueError):
        choose_tier((0.2, 0.3, 0.5), "fastest")  # type: ignore[arg-type]


def test_reason_names_the_signals_and_probabilities(classifier: TierClassifier) -> None:
    decision = classifier.classify(_user("Debug this: my Python loop never ends\n```\nwhile x:\n"))
    assert decision.signals
    for signal in decision.signals:
        assert signal in decision.reason
    assert decision.reason.startswith(f"tier_{decision.tier} (p1 ")
    assert "p3" in decision.reason


def test_decision_probabilities_and_confidence(classifier: TierClassifier) -> None:
    for messages in CONVERSATIONS:
        for preference in PREFERENCES:
            decision = classifier.classify(messages, preference)
            assert abs(sum(decision.probabilities) - 1.0) < 1e-3
            assert decision.confidence == pytest.approx(
                decision.probabilities[decision.tier - 1], abs=1e-3
            )
            assert decision.tier_name == f"tier_{decision.tier}"


def test_no_user_turn_still_decides(classifier: TierClassifier) -> None:
    decision = classifier.classify([Message("system", "be brief")])
    assert decision.tier in (1, 2, 3)


def test_shipped_artifact_loads_and_is_small() -> None:
    assert DEFAULT_ARTIFACT.stat().st_size < 2 * 1024 * 1024
    first, again = TierClassifier.load(), TierClassifier.load(None)
    assert first.model is again.model  # loaded once per process
    assert json.loads(DEFAULT_ARTIFACT.read_text())["format"] == "emmaus-router/1"


def test_operator_artifact_path_loads(tmp_path: Path) -> None:
    target = tmp_path / "copy.json"
    target.write_text(DEFAULT_ARTIFACT.read_text())
    loaded = TierClassifier.load(str(target))
    assert loaded.classify(_user("hello")).tier == 1


def test_bad_artifacts_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError):
        TierClassifier.load(str(tmp_path / "missing.json"))
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"format": "something-else"}')
    with pytest.raises(ArtifactError):
        TierClassifier.load(str(wrong))
    stale = tmp_path / "stale.json"
    data = json.loads(DEFAULT_ARTIFACT.read_text())
    data["named_features"] = data["named_features"][:-1]
    stale.write_text(json.dumps(data))
    with pytest.raises(ArtifactError, match="retrain"):
        TierClassifier.load(str(stale))
