"""Plain-word names of the features, and the signals behind a decision: the active features that
pushed hardest toward the chosen tier (their contribution to its log-odds against the others)."""

from __future__ import annotations

import numpy as np

from emmaus.engine.routing.features import NAMED, Features

_CUES = {
    "long_writing": "asks for a long structured document",
    "long_deliverable": "mentions a long deliverable (sermon, policy, plan...)",
    "short_writing": "asks for a short piece of writing",
    "write_verb": "asks for something to be written or made",
    "length_demand": "asks for depth or length",
    "brevity": "asks for a brief answer",
    "multipart": "multi-part deliverable (weeks, sections, steps)",
    "list_items": "contains a list",
    "code_fence": "contains a code block",
    "code_lang": "names a programming language or tool",
    "code_words": "talks about code",
    "code_syntax": "contains code",
    "error_text": "reports an error or failure",
    "debug": "asks to debug or fix something",
    "proof": "asks for a proof or derivation",
    "math_terms": "maths or logic problem",
    "arithmetic": "simple arithmetic",
    "math_symbols": "maths notation",
    "steps": "asks for step-by-step reasoning",
    "original_language": "original-language or exegetical study",
    "language_terms": "Greek or Hebrew terms",
    "script": "Greek or Hebrew script",
    "deep_analysis": "asks for critical analysis",
    "traditions": "weighs several traditions or views",
    "explain": "asks for an explanation",
    "advice": "asks for advice or suggestions",
    "definition": "asks for a definition or spelling",
    "request": "a direct request",
    "greeting": "a greeting",
    "followup": "follows up on the previous turn",
    "deictic": "refers back to earlier text",
    "acknowledgement": "an acknowledgement",
    "fact_start": "single factual question",
    "yes_no": "yes/no question",
    "gratitude": "says thank you",
    "asks": "asks for something",
    "conversion": "a unit conversion",
    "arithmetic_words": "simple arithmetic",
    "in_language": "asks for code in a named language",
    "long_length": "asks for a long text (word or page count)",
    "short_length": "asks for a short text (word count)",
}
_FINAL = {
    "brevity": "ends asking for brevity",
    "code_lang": "ends naming a programming language",
    "deep_analysis": "ends asking for analysis",
    "definition": "ends asking for a definition",
    "request": "ends with a direct request",
    "explain": "ends asking for an explanation",
    "advice": "ends asking for advice",
    "proof": "ends asking for a proof",
}
_FIRST = {
    "request": "opens with a direct request",
    "explain": "opens asking for an explanation",
    "advice": "opens asking for advice",
    "definition": "opens asking for a definition",
    "short_writing": "opens asking for a short piece of writing",
    "long_writing": "opens asking for a long document",
    "fact_start": "opens with a factual question",
    "greeting": "opens with a greeting",
}
_PREV = {
    "code_fence": "earlier turn had a code block",
    "code_lang": "earlier turn was about programming",
    "code_syntax": "earlier turn had code",
    "error_text": "earlier turn reported an error",
    "proof": "earlier turn asked for a proof",
    "long_writing": "earlier turn asked for a long document",
    "original_language": "earlier turn was original-language study",
    "multipart": "earlier turn asked for a multi-part deliverable",
    "deep_analysis": "earlier turn asked for analysis",
    "math_terms": "earlier turn was a maths problem",
}
_OTHER = {
    "words<=3": "a very short message",
    "words<=8": "a short message",
    "words<=15": "a short message",
    "words<=30": "a medium-length message",
    "words<=60": "a medium-length message",
    "words<=120": "a long message",
    "words<=250": "a long message",
    "words>250": "a very long message",
    "final_words<=3": "a very short final sentence",
    "final_words<=8": "a short final sentence",
    "final_words<=15": "a short final sentence",
    "final_words<=30": "a medium final sentence",
    "final_words>30": "a long final sentence",
    "log_words": "message length",
    "questions:0": "no question mark",
    "questions:1": "one question",
    "questions:2": "two questions",
    "questions:3+": "several questions",
    "final_is_question": "ends with a question",
    "final_short_question": "ends with a short question",
    "body_before_final": "chat before the final question",
    "provided_text": "works on pasted text",
    "scripture_reference": "cites a scripture reference",
    "code_request": "asks for code",
    "plain_fact_question": "single factual question",
    "verse_lookup": "looks up a verse",
    "numbers": "works with several numbers",
    "breadth": "lists many items",
    "no_ask": "asks nothing (chat)",
    "closing_thanks": "a thank-you that asks nothing",
    "short_calculation": "a short calculation",
    "inherit_1": "continues a light exchange",
    "inherit_2": "continues a moderate task",
    "inherit_3": "continues a hard task",
    "prev_prior_2": "earlier question looked moderate",
    "prev_prior_3": "earlier question looked hard",
    "turns:1": "first turn",
    "turns:2-3": "early in the conversation",
    "turns:4+": "long conversation",
    "prev_assistant_log_len": "length of the previous answer",
    "prev_assistant_long": "previous answer was long",
    "prev_assistant_code": "previous answer had code",
    "prev_user_hard": "previous question looked hard",
    "prev_user_log_len": "length of the previous question",
    "history_hard": "earlier turns looked hard",
    "ack_after_hard": "acknowledgement after a hard exchange",
    "ack_after_easy": "acknowledgement in a light exchange",
    "followup_after_hard": "follow-up inside a hard task",
    "followup_after_easy": "follow-up in a light exchange",
    "short_after_hard": "short turn inside a hard task",
    "short_after_easy": "short turn in a light exchange",
}
_NAMESPACES = {
    "b:": 'words "{}"',
    "f:": 'final question "{}"',
    "s:": 'final sentence opens "{}"',
    "h:": 'first sentence "{}"',
    "p:": 'earlier turn "{}"',
}


def _describe_named(name: str) -> str:
    kind, _, key = name.partition(":")
    if kind == "cue" and key in _CUES:
        return _CUES[key]
    if kind == "final":
        return _FINAL.get(key) or _CUES.get(key, name)
    if kind == "first" and key in _FIRST:
        return _FIRST[key]
    if kind == "prev" and key in _PREV:
        return _PREV[key]
    return _OTHER.get(name, name)


DESCRIPTIONS: tuple[str, ...] = tuple(_describe_named(name) for name in NAMED)


def describe(index: int, features: Features) -> str:
    if index < len(NAMED):
        return DESCRIPTIONS[index]
    term = features.term(index)
    template = _NAMESPACES.get(term[:2], 'words "{}"')
    return template.format(term[2:].lstrip("^"))


def top_signals(
    features: Features, weights: np.ndarray, tier: int, limit: int = 3
) -> tuple[str, ...]:
    """Plain-word names of the (up to `limit`) features pushing hardest toward `tier`."""
    values = features.values
    if not values:
        return ()
    index = np.fromiter(values.keys(), dtype=np.intp, count=len(values))
    value = np.fromiter(values.values(), dtype=np.float64, count=len(values))
    rows = weights[index]
    column = tier - 1
    others = (rows.sum(axis=1) - rows[:, column]) / (rows.shape[1] - 1)
    push = value * (rows[:, column] - others)
    order = np.argsort(-push, kind="stable")
    signals: list[str] = []
    strongest = float(push[order[0]]) if len(order) else 0.0
    for k in order[: limit * 4]:
        contribution = float(push[k])
        if contribution <= 0.05 or contribution < 0.15 * strongest:
            break
        text = describe(int(index[k]), features)
        if text not in signals:
            signals.append(text)
        if len(signals) == limit:
            break
    return tuple(signals)
