"""Concept lexicon: phrases (one to seven words) grouped into the ideas the categories turn on.

The model sees, besides raw n-grams, which concepts a message contains and which pairs of
concepts occur together ("means" with "now", "family member" with "hurt me", "how to" with
"evade detection"). Concepts generalise past the exact words of the training rows: a message
about "the shotgun" and "tonight" lights up the same features as one about "the rope" and "after
dark". The phrases live in `lexicon.toml` (written naturally, normalised by `concepts` when
loaded); the age phrases ("im 14", "12 year old") are generated here. At most 64 concepts, in
file order (a concept's position is its bit): editing the file changes the model, so retrain."""

from __future__ import annotations

import tomllib
from pathlib import Path

_NUMBERS = "five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen"
_MINOR_AGES = [str(n) for n in range(4, 18)] + _NUMBERS.split()
_GRADES = ("4th", "5th", "6th", "7th", "8th", "9th")

_GENERATED: dict[str, tuple[str, ...]] = {
    "minor_self": tuple(f"im {age}" for age in _MINOR_AGES)
    + tuple(f"im in {grade} grade" for grade in (*_GRADES, "10th")),
    "minor": tuple(
        f"{age} {form}" for age in _MINOR_AGES for form in ("year old", "years old", "yo")
    )
    + tuple(f"{who} {age}" for age in _MINOR_AGES for who in ("shes", "hes"))
    + tuple(f"{grade} grade" for grade in _GRADES),
}


def _load() -> dict[str, tuple[str, ...]]:
    data = tomllib.loads(Path(__file__).with_name("lexicon.toml").read_text(encoding="utf-8"))
    concepts = {name: tuple(phrases) for name, phrases in data["concepts"].items()}
    for name, phrases in _GENERATED.items():
        concepts[name] = concepts[name] + phrases
    return concepts


CONCEPTS: dict[str, tuple[str, ...]] = _load()
