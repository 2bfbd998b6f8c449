import pytest

from emmaus.engine.safety.messages import (
    help_resources,
    output_replacement_message,
    refusal_message,
    support_message,
)
from emmaus.engine.safety.policy import policy_from_text
from emmaus.engine.safety.verdict import CRISIS_CATEGORIES, Verdict

TRADITIONS = (None, "evangelical", "catholic", "mainline", "not_faith_specific")
LOCALE_MARKERS = {
    "us": ("988", "911"),
    "uk": ("116 123", "999"),
    "ie": ("116 123", "112"),
    "other": ("findahelpline.com",),
}


def _policy(locale: str):
    return policy_from_text(f'locale = "{locale}"').for_client(None)


@pytest.mark.parametrize("locale", list(LOCALE_MARKERS))
@pytest.mark.parametrize("tradition", TRADITIONS)
@pytest.mark.parametrize("category", CRISIS_CATEGORIES)
def test_support_message_always_has_the_locale_resources(locale, tradition, category):
    verdict = Verdict("support", (category,), severity="high")
    text = support_message(verdict, _policy(locale), tradition)
    for marker in LOCALE_MARKERS[locale]:
        assert marker in text
    for resource in help_resources(verdict, _policy(locale)):
        assert resource.contact in text


def test_prayer_is_offered_only_by_a_tradition_and_keeps_the_resources():
    verdict = Verdict("support", ("self_harm",), severity="high")
    plain = support_message(verdict, _policy("us"), None)
    catholic = support_message(verdict, _policy("us"), "catholic")
    assert "pray" not in plain.lower()
    assert "pray" in catholic.lower()
    assert "988" in catholic and "741741" in catholic
    assert "pray" not in support_message(verdict, _policy("us"), "not_faith_specific").lower()


def test_support_message_safe_messaging():
    text = support_message(Verdict("support", ("self_harm",)), _policy("us"))
    assert "not alone" in text or "don't have to" in text
    for word in ("method", "pills", "dose", "you should not", "sin"):
        assert word not in text.lower()


def test_relevant_resources_first_and_lifeline_always():
    abuse = [r.name for r in help_resources(Verdict("support", ("abuse",)))]
    assert abuse[0] == "National Domestic Violence Hotline"
    assert "Childhelp National Child Abuse Hotline" in abuse
    assert "988 Suicide & Crisis Lifeline" in abuse and "Emergency services" in abuse
    medical = [r.name for r in help_resources(Verdict("support", ("medical_emergency",)))]
    assert medical[0] == "Emergency services"
    self_harm = [r.name for r in help_resources(Verdict("support", ("self_harm",)))]
    assert self_harm[0] == "988 Suicide & Crisis Lifeline"


def test_medical_emergency_leads_with_emergency_services():
    text = support_message(Verdict("support", ("medical_emergency", "self_harm")), _policy("us"))
    assert text.startswith("This sounds like it could be a medical emergency")


def test_refusal_is_short_and_kind():
    text = refusal_message(Verdict("refuse", ("illicit",)))
    assert text.startswith("I can't help with that")
    assert len(text) < 200 and "988" not in text


def test_self_harm_instructions_get_support_instead_of_a_refusal():
    text = refusal_message(Verdict("refuse", ("self_harm_instructions",)), _policy("uk"))
    assert "I can't help with that" in text and "116 123" in text


def test_output_replacement():
    assert "stopped" in output_replacement_message(Verdict("refuse", ("violence_instructions",)))
    text = output_replacement_message(Verdict("refuse", ("self_harm_instructions",)))
    assert "988" in text
