"""The trained auto-router: a conversation → tier 1/2/3 with calibrated probabilities and a
readable reason. `TierClassifier.load()` reads the shipped artifact (`router_model.json`, trained
on datasets/routing train + dev); `python -m emmaus.engine.routing.train` retrains it."""

from emmaus.engine.routing.decision import (
    PREFERENCES,
    Preference,
    TierClassifier,
    TierDecision,
    choose_tier,
)
from emmaus.engine.routing.evaluation import Report, evaluate_file, format_report

__all__ = [
    "PREFERENCES",
    "Preference",
    "Report",
    "TierClassifier",
    "TierDecision",
    "choose_tier",
    "evaluate_file",
    "format_report",
]
