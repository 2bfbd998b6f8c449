"""The query analyser behind auto-routing: cheap lexical features of the conversation mapped to
a complexity tier with a confidence and a human-readable reason. Pure Python, compiled regexes,
well under a millisecond a query."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from emmaus.engine.types import Message

# Only the newest user turn and a bounded tail of it are scanned: cost stays flat for long chats.
_SCAN_CHARS = 4000

_REASONING = re.compile(
    r"\b(why|explain|compare|contrast|analy[sz]e|evaluate|argue|justify|implications?|"
    r"trade-?offs?|pros and cons|reconcile|critique|assess|in depth|detailed)\b",
    re.IGNORECASE,
)
_MULTI_STEP = re.compile(
    r"\b(step[- ]by[- ]step|first\b.*\bthen|plan|outline|design|strategy|walk me through|"
    r"break (it|this) down)\b|(^|\n)\s*(\d+[.)]|[-*•])\s+",
    re.IGNORECASE | re.DOTALL,
)
_CODE_MATH = re.compile(
    r"```|\b(def|class|function|return|SELECT|import|const|lambda|regex|algorithm|compile|"
    r"integral|derivative|equation|proof|theorem|probability|matrix)\b|"
    r"[=<>]=|\d\s*[-+*/^]\s*\d|[{};]\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_THEOLOGY = re.compile(
    r"\b(exegesis|exegetical|hermeneutics?|soteriology|eschatology|christology|pneumatology|"
    r"ecclesiology|atonement|justification|sanctification|predestination|trinit(y|arian)|"
    r"incarnation|theodicy|covenant|septuagint|greek|hebrew|aramaic|patristic|church fathers|"
    r"council of|reformation|calvin\w*|arminian\w*|catechism|magisterium|sacraments?|"
    r"transubstantiation|apologetics|canon|original sin|imago dei|dispensational\w*)\b",
    re.IGNORECASE,
)
_SIMPLE = re.compile(
    r"^\s*(hi|hello|hey|thanks|thank you|good (morning|evening)|what is your name|who are you)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(r"\?")
_WORD = re.compile(r"\S+")

# Score thresholds between tiers; a score near a threshold gives a low confidence.
_TIER_2_AT = 2.0
_TIER_3_AT = 5.0


@dataclass(frozen=True, slots=True)
class Analysis:
    tier: int
    confidence: float
    score: float
    reason: str

    @property
    def tier_name(self) -> str:
        return f"tier_{self.tier}"


def _newest_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user" and message.content:
            return message.content[-_SCAN_CHARS:]
    return ""


def analyse(messages: Sequence[Message]) -> Analysis:
    """Score the newest user turn (plus how long the conversation is) and pick a tier."""
    text = _newest_user_text(messages)
    features: list[tuple[str, float]] = []

    words = len(_WORD.findall(text))
    if words > 150:
        features.append((f"long query ({words} words)", 2.5))
    elif words > 60:
        features.append((f"medium-length query ({words} words)", 1.5))
    elif words > 25:
        features.append((f"{words}-word query", 0.5))

    reasoning = len(_REASONING.findall(text))
    if reasoning:
        features.append((f"reasoning cues x{reasoning}", min(3.0, 1.5 * reasoning)))
    if _MULTI_STEP.search(text):
        features.append(("multi-step request", 1.5))
    code_math = len(_CODE_MATH.findall(text))
    if code_math:
        features.append((f"code/maths x{code_math}", min(3.0, 1.0 + code_math)))
    theology = len(_THEOLOGY.findall(text))
    if theology:
        features.append((f"theological depth x{theology}", min(3.0, 1.25 * theology)))
    questions = len(_QUESTION.findall(text))
    if questions > 1:
        features.append((f"{questions} questions", min(2.0, 0.5 * questions)))
    turns = sum(1 for m in messages if m.role in ("user", "assistant"))
    if turns > 12:
        features.append((f"long conversation ({turns} turns)", 1.0))
    elif turns > 4:
        features.append((f"ongoing conversation ({turns} turns)", 0.5))
    if _SIMPLE.match(text) and words < 12:
        features.append(("greeting or simple question", -2.0))

    score = sum(weight for _, weight in features)
    if score >= _TIER_3_AT:
        tier, margin = 3, score - _TIER_3_AT
    elif score >= _TIER_2_AT:
        tier, margin = 2, min(score - _TIER_2_AT, _TIER_3_AT - score)
    else:
        tier, margin = 1, _TIER_2_AT - score
    # Confidence grows with the distance from the nearest threshold: 0.5 on it, →1 far away.
    confidence = round(min(0.99, 0.5 + margin / 6.0), 3)
    if features:
        reason = f"tier_{tier} (score {score:.1f}): " + ", ".join(name for name, _ in features)
    else:
        reason = f"tier_{tier} (score 0.0): short, simple query"
    return Analysis(tier=tier, confidence=confidence, score=score, reason=reason)
