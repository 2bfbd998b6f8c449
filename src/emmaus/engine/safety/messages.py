"""The texts the safety layer guarantees: support, refusal and output replacement.

Support messages follow safe-messaging practice: acknowledge what the person said, no lecture,
no detail about methods, encourage reaching out now and say plainly that help exists. They
always end with the help resources of the client's locale (`help_resources`). A tradition may
add an offer of prayer in its own voice; it never removes or replaces the resources."""

from __future__ import annotations

from dataclasses import dataclass

from emmaus.engine.safety.policy import ClientPolicy, default_policy
from emmaus.engine.safety.verdict import Verdict


@dataclass(frozen=True, slots=True)
class HelpResource:
    name: str
    contact: str
    description: str
    categories: tuple[str, ...]
    url: str | None = None

    def line(self) -> str:
        text = f"- {self.name}: {self.contact}"
        return f"{text}. {self.description}" if self.description else text


_OPENERS: dict[str, str] = {
    "medical_emergency": (
        "This sounds like it could be a medical emergency. Please call emergency services right "
        "now, or ask someone near you to call, and stay with the person if you can. Getting help "
        "quickly matters more than anything I can say here."
    ),
    "self_harm": (
        "I'm really sorry you're going through this, and I'm glad you told me. It sounds like "
        "you're carrying a lot right now. You don't have to face it alone: please reach out to "
        "someone now. Talking with a trained person can help, and they are there for you at any "
        "hour, day or night."
    ),
    "abuse": (
        "I'm so sorry this is happening. What is being done to you is not your fault, and you "
        "deserve to be safe. You don't have to handle this alone: there are people who can help "
        "you, confidentially, whenever you're ready, and right now if you need them."
    ),
    "violence_threat": (
        "It sounds like you're feeling a great deal of anger or pain right now, and that's a lot "
        "to hold. Before anything happens, please talk to someone who can help you through this "
        "moment. If anyone is in immediate danger, call emergency services now."
    ),
}
_METHODS = (
    "I can't help with that. But I'm concerned about you, and I'd like to help: if you're "
    "thinking about hurting yourself or ending your life, please reach out to someone now. You "
    "don't have to go through this alone, and people are there for you at any hour."
)
_ORDER = ("medical_emergency", "self_harm", "abuse", "violence_threat")
_PRAYER: dict[str, str] = {
    "evangelical": (
        "If it would help, I'd be glad to pray with you, and a pastor or someone from your church "
        "can walk with you through this too. Please reach out to one of the people above as well."
    ),
    "catholic": (
        "If it would help, I'd be glad to pray with you, and a priest or someone from your parish "
        "can be with you in this too. Please reach out to one of the people above as well."
    ),
    "mainline": (
        "If it would help, I'd be glad to pray with you, and a pastor or chaplain can walk with "
        "you through this too. Please reach out to one of the people above as well."
    ),
}
_REFUSALS: dict[str, str] = {
    "violence_instructions": "I can't help with anything that could be used to hurt people.",
    "illicit": "I can't help with that.",
    "sexual_minors": "I can't help with that.",
    "hate": "I can't help write something that demeans people for who they are.",
    "harassment": "I can't help with something meant to harass or intimidate someone.",
}
_OFFER = "If there's something else you need, I'm happy to help."


def _crisis_of(verdict: Verdict) -> tuple[str, ...]:
    crisis = verdict.crisis_categories
    if crisis:
        return crisis
    return ("self_harm",)  # self-harm instructions, or a support verdict with no crisis named


def help_resources(verdict: Verdict, policy: ClientPolicy | None = None) -> list[HelpResource]:
    """The locale's resources for `verdict`: the ones tagged with its crisis categories first
    (in the policy's order), then the ones listed for every crisis. Never empty."""
    policy = policy or default_policy().for_client(None)
    wanted = set(_crisis_of(verdict))
    ranked = [r for r in policy.resources if wanted & set(r.categories)]
    ranked += [r for r in policy.resources if r.always and r not in ranked]
    if not ranked:
        ranked = list(policy.resources)
    return [
        HelpResource(r.name, r.contact, r.description, tuple(r.categories), r.url) for r in ranked
    ]


def lists_resources(verdict: Verdict) -> bool:
    """Whether the layer's message for a flagged `verdict` lists help resources: a support
    answer, and a refusal or replacement for a crisis or a self-harm method (the person asking
    may be at risk)."""
    return (
        verdict.action == "support"
        or verdict.crisis
        or "self_harm_instructions" in verdict.categories
    )


def support_message(
    verdict: Verdict, policy: ClientPolicy | None = None, tradition: str | None = None
) -> str:
    """A caring reply for a crisis (or a request for self-harm methods) with the help resources."""
    crisis = _crisis_of(verdict)
    lead = next((c for c in _ORDER if c in crisis), "self_harm")
    if not verdict.crisis_categories:
        parts = [_METHODS]
    else:
        parts = [_OPENERS[lead]]
        if "self_harm_instructions" in verdict.categories:
            parts.insert(0, "I can't help with that, but I care about what happens to you.")
    if lead != "medical_emergency" and "medical_emergency" in crisis:
        parts.append("If anyone is hurt or unwell, call emergency services now.")
    lines = "\n".join(r.line() for r in help_resources(verdict, policy))
    parts.append(f"You can reach someone now:\n{lines}")
    closing = "I'm here to keep talking with you too, if you'd like."
    prayer = _PRAYER.get(tradition or "")
    parts.append(f"{prayer} {closing}" if prayer else closing)
    return "\n\n".join(parts)


def refusal_message(
    verdict: Verdict, policy: ClientPolicy | None = None, tradition: str | None = None
) -> str:
    """A short, kind refusal. A request for self-harm methods gets a support message instead."""
    if lists_resources(verdict):
        return support_message(verdict, policy, tradition)
    first = next((c for c in verdict.categories if c in _REFUSALS), None)
    reason = _REFUSALS.get(first or "", "I can't help with that.")
    return f"{reason} {_OFFER}"


def output_replacement_message(verdict: Verdict, policy: ClientPolicy | None = None) -> str:
    """What replaces (or ends) a model answer the output screen flagged."""
    text = "I started to write something I shouldn't share, so I've stopped there."
    if lists_resources(verdict):
        lines = "\n".join(r.line() for r in help_resources(verdict, policy))
        return (
            f"{text} If you're having a hard time, please reach out to someone now; "
            f"people are there for you at any hour:\n{lines}"
        )
    return f"{text} {_OFFER}"
