from pathlib import Path

import pytest

from emmaus.engine.safety.policy import (
    SafetyPolicyError,
    default_policy,
    load_policy,
    policy_from_text,
)
from emmaus.engine.safety.verdict import CATEGORIES, CRISIS_CATEGORIES


def test_default_policy_actions_and_thresholds():
    policy = default_policy().for_client(None)
    assert policy.enabled and policy.locale == "us"
    for category in CATEGORIES:
        assert policy.thresholds[category] == 0.5
        expected = "support" if category in CRISIS_CATEGORIES else "refuse"
        assert policy.actions[category] == expected


def test_default_resources_per_locale():
    policy = default_policy()
    us = " ".join(r.contact for r in policy.resources["us"])
    for number in ("988", "741741", "911", "1-800-799-7233", "1-800-422-4453"):
        assert number in us
    for locale in ("uk", "ie"):
        contacts = " ".join(r.contact for r in policy.resources[locale])
        assert "116 123" in contacts and "999" in contacts and "112" in contacts
    assert "findahelpline.com" in " ".join(r.contact for r in policy.resources["other"])


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[categories.self_harm]\nthreshold = 1.5", "categories.self_harm.threshold"),
        ("[categories.selfharm]\nthreshold = 0.3", "unknown categories ['selfharm']"),
        ('locale = "fr"', "locale"),
        ('[categories.hate]\naction = "block"', "categories.hate.action"),
        ('[clients."acme"]\ncolour = "red"', "clients.acme.colour"),
        ('[clients."acme".categories.hat]\naction = "none"', "unknown categories ['hat']"),
        ("enabled = 3", "enabled"),
        ('[[resources.us]]\nname = "X"', "resources.us.0.contact"),
        ('[[resources.uk]]\nname = "X"\ncontact = "1"\ncategories = ["hate"]', "not crisis"),
        ("threshold = [", "not valid TOML"),
    ],
)
def test_errors_name_the_key(text, key):
    with pytest.raises(SafetyPolicyError) as error:
        policy_from_text(text, "operator.toml")
    assert "operator.toml" in str(error.value)
    assert key in str(error.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(SafetyPolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.toml")


def test_operator_file_overrides_defaults(tmp_path: Path):
    path = tmp_path / "policy.toml"
    path.write_text(
        'locale = "uk"\n'
        "[categories.harassment]\n"
        'action = "none"\n'
        "[categories.self_harm]\n"
        "threshold = 0.3\n"
        "[[resources.uk]]\n"
        'name = "Our line"\n'
        'contact = "Call 0800 000"\n'
        "always = true\n"
    )
    policy = load_policy(path).for_client(None)
    assert policy.locale == "uk"
    assert policy.actions["harassment"] == "none"
    assert policy.thresholds["self_harm"] == 0.3
    assert policy.thresholds["abuse"] == 0.5  # untouched default
    assert [r.name for r in policy.resources] == ["Our line"]


def test_per_client_overrides():
    policy = policy_from_text(
        '[clients."kids-app"]\n'
        'locale = "ie"\n'
        '[clients."kids-app".categories.sexual_minors]\n'
        "threshold = 0.2\n"
        '[clients."research"]\n'
        "enabled = false\n"
        '[clients."quiet".categories.hate]\n'
        'action = "none"\n'
    )
    kids = policy.for_client("kids-app")
    assert kids.locale == "ie" and kids.thresholds["sexual_minors"] == 0.2
    assert any("116 123" in r.contact for r in kids.resources)
    assert policy.for_client("research").enabled is False
    assert policy.for_client("quiet").actions["hate"] == "none"
    other = policy.for_client("someone-else")
    assert other.locale == "us" and other.enabled and other.actions["hate"] == "refuse"
    assert policy.for_client(None) == policy.for_client("unknown")
