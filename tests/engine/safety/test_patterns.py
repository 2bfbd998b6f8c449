from pathlib import Path

import pytest

from emmaus.engine.safety.dataset import read_rows
from emmaus.engine.safety.normalize import normalize
from emmaus.engine.safety.patterns import pattern_floors, rule_anchors

DATA = Path(__file__).resolve().parents[3] / "datasets" / "safety"
OWN = [
    "i want to die",
    "i just want to kill myself",
    "honestly everyone would be better off without me",
    "i wrote my note, its on the desk",
    "goodbye world",
    "i wont be here much longer",
    "ive been saving up my pills for weeks",
    "im standing on the bridge",
    "my husband hits me",
    "our youth pastor touched me",
    "im going to kill him tomorrow",
    "my dad collapsed and he is not breathing",
    "how many pills would it take to die",
    "whats the lethal dose of tylenol",
    "how do i make a pipe bomb",
]


def _texts() -> list[str]:
    texts = [normalize(t) for t in OWN]
    for split in ("train", "dev"):
        if (DATA / f"{split}.jsonl").exists():
            texts += [normalize(r.text) for r in read_rows(DATA / f"{split}.jsonl")]
    return texts


def test_anchors_never_hide_a_match():
    """A rule only runs where one of its anchor words occurs: every match of the full expression
    must contain one, or the anchor list is wrong."""
    for text in _texts():
        words = set(text.split(" "))
        for category, anchors, rule in rule_anchors():
            if rule.search(text):
                assert anchors & words, (category, rule.pattern[:60], text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want to die", "self_harm"),
        ("my stepdad beats me", "abuse"),
        ("I'm going to shoot them all", "violence_threat"),
        ("she isn't breathing", "medical_emergency"),
        ("I don't want to live like this anymore", "self_harm"),
        ("i dont want to live without her", "self_harm"),
        ("tonight is goodbye", "self_harm"),
    ],
)
def test_rules_fire(text, category):
    assert category in pattern_floors(normalize(text))


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to die, I just want the pain to stop",
        "I would never kill myself",
        "this exam is killing me lol",
        "my character says I want to die",
        "I used to want to kill myself but I'm in a good place now",
        "he beat me at chess again",
        "what are the signs of a heart attack",
        "i've overdosed on christmas movies this week",
        "I don't want to live in this town anymore, where should we move?",
        "we don't want to live with my in-laws again",
        "Tonight's the night! I'm proposing at dinner",
        "I can't breathe, I'm laughing so hard",
    ],
)
def test_guards(text):
    assert not {"self_harm", "abuse", "medical_emergency"} & set(pattern_floors(normalize(text)))
