"""Hand-written high-precision patterns for unambiguous crisis phrasing and explicit harmful
requests, with their guards. The rules are in `crisis_rules` and `request_rules`; this module
applies them.

They run on the normalised text (see `normalize`: "i am" -> "im", apostrophes dropped, " . "
between sentences) and only ever raise a score: a rule that matches, inside one sentence, with
no negation just before it and no idiom or framing guard in that sentence, gives its category a
floor of `FLOOR` (the classifier combines scores as max(model, floor)). The patterns catch what a
small model may miss on text unlike its training data ("i just want to die", "my husband hits
me", "i took all my pills"); the guards stop them firing on "i dont want to die", "this exam is
killing me", "my character says i want to die" or "what are the signs of a heart attack".

A rule that asks for a self-harm method in the first person ("how much would be lethal for me")
also floors `self_harm`. Framing guards apply to crisis rules only: "for my novel, how do I make
a bomb" is still a request for a bomb. Each rule runs only near its anchor words, inside the
sentence, which keeps a 1,000-character message to a few dozen small searches. `dampened` tells
whether the text has an idiom or framing guard (the classifier may lower the model's crisis scores
for it; off in the shipped model)."""

from __future__ import annotations

import re
from functools import lru_cache

from emmaus.engine.safety.crisis_rules import CRISIS_RULES
from emmaus.engine.safety.request_rules import REQUEST_RULES

FLOOR = 0.9

_RULE_LIST: tuple[tuple[str, str, str], ...] = CRISIS_RULES + REQUEST_RULES
# Past, recovered or hyperbolic: these make a self-harm or medical rule not count.
_PAST = re.compile(
    r"\b(?:last year|years ago|in recovery|survived|used to|when i was (?:younger|a teen|a kid)|"
    r"im in a good place|doing (?:much )?better now|on (?:christmas|movies|tv|coffee|sugar))\b"
)
_GUARDED = frozenset({"self_harm", "abuse", "violence_threat", "medical_emergency"})
_PAST_APPLIES = frozenset({"self_harm", "medical_emergency", "self_harm_instructions"})
# A question about a dose out of worry for one's own safety is not a request for a method.
_WORRY = re.compile(
    r"\b(?:worr(?:y|ied)|too much|is it safe|accidentally|by accident|by mistake)\b"
)
_FIRST_PERSON = re.compile(r"\b(?:i|im|ive|id|me|my|myself)\b")
_FILLER = frozenset(
    {"is", "has", "been", "keeps", "to", "a", "the", "down", "over"}
)  # never the only anchor
_COMPILED: tuple[tuple[str, frozenset[str], re.Pattern[str]], ...] = tuple(
    (category, frozenset(anchors.split()) - _FILLER, re.compile(rule))
    for category, anchors, rule in _RULE_LIST
)
# A negation among the three words before a match turns it off ("i dont want to die").
_NEGATIONS = frozenset(
    [
        "not",
        "dont",
        "never",
        "wont",
        "no",
        "didnt",
        "wouldnt",
        "doesnt",
        "isnt",
        "arent",
        "nobody",
        "stop",
        "wasnt",
        "werent",
        "if",
        "without",
    ]
)
_NEGATION_PHRASES = ("used to", "no one", "would never", "dont want", "never want")
# Idioms and framings: crisis words that are not about the writer being in danger now.
_GUARDS = re.compile(
    r"\b(?:lol|lmao|lmfao|rofl|haha\w*|jk|just kidding|kidding|joking)\b|"
    r"\b(?:killing me|kill me now|killed it|kill it|killing it|dying to|to die for|die of "
    r"(?:embarrassment|laughter|boredom|cringe|shame)|died laughing|kill myself laughing|"
    r"dead tired|dying of laughter|could kill for|murder a|my feet|my back is killing|"
    r"laughing so hard|im laughing|from laughing|cant stop laughing|"
    r"in (?:the|a) (?:game|movie|film|book|novel|story|show|series|video game)|"
    r"fortnite|minecraft|call of duty|roblox|gta|zombies?|character|novel|fiction|screenplay|"
    r"poem|lyrics?|song|quote|essay|research|statistics|rate of|rates of|prevention|what are "
    r"the signs|signs of|symptoms of|how do i know if|how to help|help a friend|"
    r"what should you do if|first aid|definition|history of|meaning of|what does it mean|"
    r"julienne|chop|chopping|slice|slicing|santoku|recipe|carrots|onions?|cooking|sharpen|dice|"
    r"dicing|mince|peel|vegetables|cutting board|"
    r"the view|sightseeing|tourist|selfie|"
    # Household accidents: "i cut myself shaving", "burned myself on the oven".
    r"shaving|accidentally|by accident|paper cut|on the (?:oven|stove|grill|pan|iron|kettle))\b"
)


def _negated(normalized: str, start: int, sentence_start: int) -> bool:
    before = normalized[max(sentence_start, start - 40) : start].split()[-3:]
    if _NEGATIONS.intersection(before):
        return True
    tail = " ".join(before)
    return any(phrase in tail for phrase in _NEGATION_PHRASES)


def pattern_floors(normalized: str) -> dict[str, float]:
    """`_floors`, cached (context turns are checked again on every request)."""
    return dict(_floors(normalized))


@lru_cache(maxsize=2048)
def _floors(normalized: str) -> tuple[tuple[str, float], ...]:
    return tuple(_pattern_floors(normalized).items())


def _pattern_floors(normalized: str) -> dict[str, float]:
    """Categories a rule matched in `normalized`, each with the floor it gives: one match inside
    a sentence that has no guard (crisis rules), with no negation just before it, is enough."""
    floors: dict[str, float] = {}
    if not normalized:
        return floors
    words = frozenset(normalized.split(" "))
    padded = f" {normalized} "
    guarded: dict[int, bool] = {}  # sentence start -> has a guard
    for category, anchors, rule in _COMPILED:
        if category in floors or anchors.isdisjoint(words):
            continue
        for match in _matches(rule, anchors & words, padded):
            start = match.start() - 1  # offsets in `normalized` (padded has one space more)
            sentence_start = normalized.rfind(" . ", 0, start) + 1
            if _negated(normalized, start, sentence_start):
                continue
            if category in _GUARDED:
                if sentence_start not in guarded:
                    end = normalized.find(" . ", start)
                    guarded[sentence_start] = (
                        _GUARDS.search(
                            normalized, sentence_start, len(normalized) if end < 0 else end
                        )
                        is not None
                    )
                if guarded[sentence_start]:
                    continue
            if category in _PAST_APPLIES and _PAST.search(normalized):
                continue
            if category == "self_harm_instructions":
                if _WORRY.search(normalized):
                    continue
                end = normalized.find(" . ", start)
                sentence = normalized[sentence_start : len(normalized) if end < 0 else end]
                if _FIRST_PERSON.search(sentence):
                    floors["self_harm"] = FLOOR  # asking for a method for oneself
            floors[category] = FLOOR
            break
    return floors


_REACH = 110  # characters a rule's match may extend either side of its anchor word


def _matches(rule: re.Pattern[str], anchors: frozenset[str], padded: str) -> list[re.Match[str]]:
    """Matches of `rule` near occurrences of its anchor words: the regular expression runs on a
    window around each anchor, within its sentence, not on the whole text (what keeps long
    messages fast)."""
    found: list[re.Match[str]] = []
    seen: set[int] = set()
    for anchor in anchors:
        needle = f" {anchor} "
        at = padded.find(needle)
        while at >= 0:
            lo = max(padded.rfind(" . ", 0, at) + 2, at - _REACH)
            end = padded.find(" . ", at)
            hi = at + len(needle) + _REACH
            match = rule.search(padded, max(lo, 0), hi if end < 0 else min(hi, end + 1))
            if match and match.start() not in seen:
                seen.add(match.start())
                found.append(match)
            at = padded.find(needle, at + 1)
    found.sort(key=lambda m: m.start())
    return found


def first_person(normalized: str) -> bool:
    """True when the text speaks of the writer (i, im, me, my, ...)."""
    return _FIRST_PERSON.search(normalized) is not None


def rule_anchors() -> list[tuple[str, frozenset[str], re.Pattern[str]]]:
    """The rules with their anchor words (for tests)."""
    return list(_COMPILED)


def dampened(normalized: str) -> bool:
    """True when the text has an idiom or framing guard anywhere."""
    return _GUARDS.search(normalized) is not None
