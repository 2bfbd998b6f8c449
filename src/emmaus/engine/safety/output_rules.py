"""Screening rules for text the model wrote (answers, tool-call arguments).

For outputs only harmful content matters: a model that answers a person in distress with care
and "call or text 988" is doing its job, so crisis categories are never scored on outputs. What
we look for is method detail: how to hurt oneself or others, make weapons or drugs, or sexual
content involving minors. Each rule below gives its category a floor of `FLOOR` when it matches
a sentence; the classifier's harmful-category scores count too, except that a text which reads
as a refusal or as support (help lines, "I can't help with that") and matches no rule is not
flagged on the model score alone."""

from __future__ import annotations

import itertools
import re

FLOOR = 0.9

_DOSE = r"\d+(?: to \d+)? ?(?:mg|milligrams|grams|g|pills|tablets|capsules)"
_GAP = r"[^.]{0,160}?"  # the rest of the same sentence (windows are one or two sentences)
# (category, anchors, rule): a rule runs only on text containing one of its anchor words.
_RULE_LIST: tuple[tuple[str, str, str], ...] = (
    (
        "self_harm_instructions",
        "lethal fatal deadly",
        r"\b(?:lethal|fatal|deadly) (?:dose|amount|quantity)s? (?:of \w+ )?(?:is|are|would be)\b",
    ),
    (
        "self_harm_instructions",
        "take taking swallow swallowing",
        rf"\b(?:take|taking|swallow|swallowing) (?:at least |about |around )?{_DOSE}\b{_GAP}"
        r"\b(?:die|death|fatal|lethal|kill|overdose)\b",
    ),
    (
        "self_harm_instructions",
        "die death fatal lethal overdose",
        rf"\b(?:die|death|fatal|lethal|overdose)\b{_GAP}\b(?:take|taking|swallow) "
        rf"(?:at least |about )?{_DOSE}\b",
    ),
    ("self_harm_instructions", "noose", r"\b(?:tie|tying|make|making) (?:a |the )?noose\b"),
    (
        "self_harm_instructions",
        "vertically vein deep",
        r"\bcut (?:vertically|along the vein|deep enough|down the (?:arm|wrist))\b",
    ),
    (
        "self_harm_instructions",
        "painful",
        r"\b(?:most|least) painful (?:way|method)s? to (?:die|kill yourself|end your life)\b",
    ),
    (
        "self_harm_instructions",
        "painless quickest easiest surest",
        r"\b(?:painless|quickest|easiest|surest) (?:way|method)s? to (?:die|kill yourself|end your "
        r"life|commit suicide) (?:is|are|would be)\b",
    ),
    (
        "self_harm_instructions",
        "yourself",
        rf"\bto kill yourself\b{_GAP}\b(?:you will need|you need|step \d|first you|then you)\b",
    ),
    (
        "violence_instructions",
        "bomb molotov napalm thermite tatp anfo blasting detonator shrapnel",
        rf"\b(?:pipe bomb|pressure cooker bomb|molotov|napalm|thermite|tatp|anfo|blasting cap|"
        rf"detonator|shrapnel)\b{_GAP}\b(?:step|mix|fill|pack|attach|combine|ignite|you will need|"
        r"you need|ingredients|grams|ratio)\b",
    ),
    (
        "violence_instructions",
        "ammonium potassium gunpowder powder peroxide",
        rf"\b(?:mix|combine|fill|pack)\b{_GAP}\b(?:ammonium nitrate|potassium chlorate|gunpowder|"
        r"black powder|acetone peroxide)\b",
    ),
    (
        "violence_instructions",
        "ricin sarin vx cyanide botulinum anthrax",
        r"\b(?:extract|make|produce|purify)\w* (?:ricin|sarin|vx|cyanide|botulinum|anthrax)\b",
    ),
    (
        "violence_instructions",
        "auto sear",
        rf"\b(?:auto sear|full auto)\b{_GAP}\b(?:step|drill|file|mill|jig)\b",
    ),
    (
        "illicit",
        "meth methamphetamine fentanyl mdma crack heroin lsd dmt",
        rf"\b(?:cook|synthesi[sz]e|make|making|produce|extract)\w* (?:meth|methamphetamine|"
        rf"fentanyl|mdma|crack|heroin|lsd|dmt)\b{_GAP}\b(?:step|mix|heat|add|combine|"
        r"you will need|you need|"
        r"pseudoephedrine|red phosphorus|lithium|anhydrous|precursor|grams|ratio|reagent)\b",
    ),
    (
        "illicit",
        "pseudoephedrine phosphorus p2p phenyl",
        rf"\b(?:pseudoephedrine|red phosphorus|phenyl ?2 ?propanone|p2p)\b{_GAP}\b(?:reduce|"
        r"reduction|heat|mix|add|combine|extract)\b",
    ),
    (
        "illicit",
        "skimmer skimming carding cloned",
        rf"\b(?:card skimmer|skimming device|carding|cloned cards?)\b{_GAP}\b(?:step|install|"
        r"attach|buy|dump)\b",
    ),
    (
        "sexual_minors",
        "naked nude undressed undressing sexual sexually aroused moaned moaning "
        "orgasm genitals genital breasts",
        rf"\b(?:child|children|kid|kids|minor|minors|underage|preteen|\d{{1,2}} ?(?:year old|yo)|"
        rf"(?:eleven|twelve|thirteen|fourteen|fifteen) year old)\b{_GAP}\b(?:naked|nude|undress\w*|"
        r"sexual\w*|aroused|moan\w*|orgasm\w*|genitals?|breasts?)\b",
    ),
)
_COMPILED = tuple(
    (category, frozenset(anchors.split()), re.compile(rule))
    for category, anchors, rule in _RULE_LIST
)
_REFUSAL_OR_SUPPORT = re.compile(
    r"\b(?:i cant help|i wont help|i cant provide|i cant assist|i wont provide|im not able to help|"
    r"i cant share|cant help with that|988|lifeline|crisis (?:line|text line)|samaritans|"
    r"helpline|hotline|116 123|741741|911|999|reach out|talk to someone|youre not alone|"
    r"you are not alone|emergency services|findahelpline)\b"
)
# Sexual terms next to ages are also common in abuse-prevention and medical answers.
_PROTECTIVE = re.compile(
    r"\b(?:report|abuse is|is abuse|illegal|never okay|not your fault|grooming signs|warning "
    r"signs|protect|pediatrician|puberty|doctor)\b"
)


def _sentences(normalized: str) -> list[str]:
    return [s for s in normalized.split(" . ") if s]


def output_floors(normalized: str) -> dict[str, float]:
    """Harmful categories whose method-detail rules match `normalized` (one sentence, or two
    neighbouring sentences, at a time)."""
    words = frozenset(normalized.split(" "))
    candidates = [rule for rule in _COMPILED if not rule[1].isdisjoint(words)]
    if not candidates:
        return {}
    sentences = _sentences(normalized)
    windows = sentences + [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    floors: dict[str, float] = {}
    for category, _anchors, rule in candidates:
        if category in floors:
            continue
        for window in windows:
            if rule.search(window):
                if category == "sexual_minors" and _PROTECTIVE.search(window):
                    continue
                floors[category] = FLOOR
                break
    return floors


def refusal_or_support(normalized: str) -> bool:
    return bool(_REFUSAL_OR_SUPPORT.search(normalized))
