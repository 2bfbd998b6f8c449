"""The policy example in docs/safety.md is a valid policy that does what the page says."""

from __future__ import annotations

import re
from pathlib import Path

from emmaus.engine.safety.policy import policy_from_text

DOC = Path(__file__).resolve().parents[3] / "docs" / "safety.md"


def test_the_documented_policy_parses_and_applies() -> None:
    (block,) = re.findall(r"```toml\n(.*?)```", DOC.read_text(), flags=re.S)
    policy = policy_from_text(block, "docs/safety.md")
    everyone = policy.for_client(None)
    assert everyone.locale == "uk" and everyone.actions["hate"] == "none"
    assert everyone.thresholds["harassment"] == 0.7
    assert [r.name for r in everyone.resources] == ["Samaritans"]
    youth = policy.for_client("emc_youth_ministry")
    assert youth.locale == "us" and youth.thresholds["self_harm"] == 0.3
