"""Intent and structure cues of one piece of text: what it asks for (code, a proof, a sermon, a
single fact, a thank-you...). Word cues are phrase look-ups over the tokens (one dict probe per
token, no big regex alternations: a 1,000-character text costs tens of microseconds); a few
cheap character checks cover code, maths and scripts."""

from __future__ import annotations

import re
from collections import defaultdict

from emmaus.engine.routing.lexicon import (
    ACK_WORDS,
    FACT_STARTS,
    FILLER,
    GREETING_WORDS,
    GREETINGS,
    LONG_DELIVERABLES,
    PHRASES,
    REQUEST_PREFIXES,
    REQUEST_VERBS,
    SHORT_DELIVERABLES,
    UNITS,
    WRITE_VERBS,
    YES_NO,
)

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_LIST_ITEM = re.compile(r"^[ \t]*(?:\d{1,2}[.)]|[-*\u2022])[ \t]+\S", re.MULTILINE)
_ARITHMETIC = re.compile(r"\d[\d.,]*\s*[-+*/x\u00d7\u00f7^%]\s*\d")
_SCRIPT = re.compile(r"[\u0370-\u03ff\u1f00-\u1fff\u0590-\u05ff]")
_CODE_LINE = re.compile(
    r"^[ \t]*(?:def |class |import |from \w+ import |return\b|for \w+ in |while |function |"
    r"const |let |var |public |private |#include|SELECT |INSERT |UPDATE |CREATE TABLE|<\w+)",
    re.MULTILINE,
)
_CODE_END = re.compile(r"[;{}][ \t]*$", re.MULTILINE)
_CODE_MARKS = ("=>", "==", "!=", "()", ").", "();", "->", "::", "&&", "||", "+=")
_CODE_CHARS = re.compile(r"[;{}()<=>:&|]")
_MATH = re.compile("[=\u221a\u222b\u2211\u03c0\u2264\u2265\u2260\u221e^]")


def tokens_of(text: str) -> list[str]:
    """Lower-cased word tokens, every number written '#n'."""
    return ["#n" if t.isdigit() else t for t in TOKEN.findall(text.lower())]


CUE_NAMES: tuple[str, ...] = (
    *sorted(PHRASES),
    "long_writing", "short_writing", "multipart", "list_items", "code_fence", "code_syntax",
    "arithmetic", "math_symbols", "script", "definition", "fact_start", "yes_no", "request",
    "greeting", "acknowledgement", "in_language", "long_length", "short_length",
)  # fmt: skip


def _lexicon() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    table: dict[str, list[tuple[tuple[str, ...], str]]] = defaultdict(list)
    for cue, phrases in PHRASES.items():
        for phrase in phrases:
            words = tuple(tokens_of(phrase.replace("#n", "0")))
            if words:
                table[words[0]].append((words[1:], cue))
    # Longest phrases first: "compare and contrast" before "compare".
    return {k: sorted(v, key=lambda e: -len(e[0])) for k, v in table.items()}


_LEXICON = _lexicon()
# Token → (its phrase entries, is a writing verb, deliverable kind 0/1 long/2 short, is a unit).
_INDEX: dict[str, tuple[list[tuple[tuple[str, ...], str]], bool, int, bool]] = {
    token: (
        _LEXICON.get(token, []),
        token in WRITE_VERBS,
        1 if token in LONG_DELIVERABLES else 2 if token in SHORT_DELIVERABLES else 0,
        token in UNITS,
    )
    for token in set(_LEXICON) | WRITE_VERBS | LONG_DELIVERABLES | SHORT_DELIVERABLES | UNITS
}
_NUMBERS = PHRASES["number"]
_LINKS = frozenset({"in", "using", "with"})
_IN_SYMBOL_LANGUAGE = re.compile(r"\b(?:in|using|with)\s+(?:c\+\+|c#|f#)", re.IGNORECASE)
_LENGTH = re.compile(r"(\d[\d,]*)[- ](?:word|page)s?\b", re.IGNORECASE)
_NONE: tuple[list[tuple[tuple[str, ...], str]], bool, int, bool] = ([], False, 0, False)


def _starts(tokens: list[str]) -> list[str]:
    i = 0
    while i < len(tokens) - 1 and tokens[i] in FILLER:
        i += 1
    return tokens[i : i + 7]


def cue_counts(
    text: str, tokens: list[str] | None = None, *, characters: bool = True
) -> dict[str, int]:
    """Hit counts of each cue family in `text` (`tokens`: its `tokens_of`, if already made).
    `characters=False` skips the character-level cues (lists, code, maths, scripts): for a
    sentence of a turn whose whole text was already scanned."""
    if tokens is None:
        tokens = tokens_of(text)
    counts = dict.fromkeys(CUE_NAMES, 0)
    n = len(tokens)
    verbs, long_nouns, short_nouns = [], [], []
    index = _INDEX
    for i, token in enumerate(tokens):
        found = index.get(token)
        if found is None:
            continue
        entries, verb, deliverable, unit = found
        if entries:
            after = tokens[i + 1] if i + 1 < n else ""
            for rest, cue in entries:
                if not rest:
                    counts[cue] += 1
                elif rest[0] == after and tuple(tokens[i + 1 : i + 1 + len(rest)]) == rest:
                    counts[cue] += 1
                    break
        if verb:
            verbs.append(i)
        if deliverable == 1:
            long_nouns.append(i)
        elif deliverable == 2:
            short_nouns.append(i)
        if unit and i and tokens[i - 1] in _NUMBERS:
            counts["multipart"] += 1
    counts["long_writing"] = sum(1 for j in long_nouns if any(0 < j - v <= 8 for v in verbs))
    counts["short_writing"] = sum(1 for j in short_nouns if any(0 < j - v <= 7 for v in verbs))
    if counts["long_writing"] and _asks_short_length(text, tokens):
        # "a 150-word devotional": a short piece, whatever its name.
        counts["short_writing"] += counts["long_writing"]
        counts["long_writing"] = 0
    counts["multipart"] += counts["structure"]
    if "++" in text or "#" in text:
        lowered = text.lower()
        counts["code_lang"] += lowered.count("c++") + lowered.count("c#") + lowered.count("f#")
        counts["in_language"] += len(_IN_SYMBOL_LANGUAGE.findall(text))
    if counts["code_lang"]:
        counts["in_language"] += sum(
            1 for i in range(n - 1) if tokens[i] in _LINKS and _is_language(tokens[i + 1])
        )
    if "mean" in tokens or "means" in tokens:
        counts["definition"] += _what_does_mean(tokens)
    counts["definition"] += counts["definition_words"]
    start = _starts(tokens)
    if start:
        counts["fact_start"] = int(_fact_start(start) or _fact_end(text, tokens))
        counts["yes_no"] = int(start[0] in YES_NO and not _polite_request(start))
        counts["request"] = int(_request(start))
        counts["greeting"] = int(start[0] in GREETINGS and n <= 10 and
                                 all(t in GREETING_WORDS for t in tokens))  # fmt: skip
        counts["acknowledgement"] = int(is_acknowledgement(text, tokens))
    if not characters:
        return counts
    counts["list_items"] = len(_LIST_ITEM.findall(text))
    if "#n" in tokens:
        for match in _LENGTH.finditer(text):
            size = int(match.group(1).replace(",", "") or 0)
            pages = match.group(0).lower().rstrip("s").endswith("page")
            long = size >= 3 if pages else size >= 700
            counts["long_length" if long else "short_length"] += 1
    counts["code_fence"] = text.count("```") + text.count("~~~")
    if _CODE_CHARS.search(text):
        counts["code_syntax"] = len(_CODE_LINE.findall(text)) + len(_CODE_END.findall(text))
        counts["code_syntax"] += sum(text.count(mark) for mark in _CODE_MARKS)
    if "#n" in tokens:
        counts["arithmetic"] = len(_ARITHMETIC.findall(text))
    counts["math_symbols"] = len(_MATH.findall(text))
    counts["script"] = int(bool(_SCRIPT.search(text)))
    return counts


def _asks_short_length(text: str, tokens: list[str]) -> bool:
    if "#n" not in tokens:
        return False
    for match in _LENGTH.finditer(text):
        size = int(match.group(1).replace(",", "") or 0)
        if not match.group(0).lower().rstrip("s").endswith("page") and size < 700:
            return True
    return False


def _is_language(token: str) -> bool:
    entries = _INDEX.get(token, _NONE)[0]
    return any(cue == "code_lang" and not rest for rest, cue in entries)


def _what_does_mean(tokens: list[str]) -> int:
    """'what does X mean' / 'what is X mean' for a word or two X: a definition. 'What does it
    mean that...' and 'what did Jesus mean by...' ask for an explanation instead."""
    for i, token in enumerate(tokens):
        if token not in ("what", "what's") or i + 3 >= len(tokens):
            continue
        if tokens[i + 1] not in ("does", "do", "is", "'s") or tokens[i + 2] in _NOT_A_WORD:
            continue
        for j in (i + 3, i + 4):
            if j < len(tokens) and tokens[j] in ("mean", "means"):
                return 1
    return 0


_NOT_A_WORD = frozenset({"it", "that", "this", "he", "she", "they", "god", "jesus", "paul"})
_FACT_ENDS = frozenset({"who", "whom", "when", "where", "what year", "how many", "how much"})


def _fact_start(start: list[str]) -> bool:
    for size in (4, 3, 2, 1):
        if " ".join(start[:size]) in FACT_STARTS:
            return True
    # "What river was...", "which language did...": a wh-word, a noun, an auxiliary.
    if (
        len(start) >= 3
        and start[0] in ("what", "which")
        and start[1] not in _AUXILIARIES
        and start[2] in _AUXILIARIES
        and start[1] not in _OPEN_NOUNS
    ):
        return True
    # "What's the git command for...", "what is the file extension of...": a look-up.
    rest = start[2:] if start[:2] == ["what", "is"] else start[1:] if start[0] == "what's" else []
    return (
        len(rest) >= 3
        and rest[0] == "the"
        and not _OPEN_NOUNS.intersection(rest[1:3])
        and any(t in _LOOKUP_LINKS for t in rest[2:5])
    )


_OPEN_NOUNS = frozenset(
    ("role", "kind", "sort", "way", "ways", "difference", "happens", "best", "point", "meaning",
     "purpose", "significance", "reason", "relationship", "deal", "impact", "history", "story",
     "context", "background", "idea", "theology", "argument", "case", "problem", "issue")
)  # fmt: skip
_LOOKUP_LINKS = frozenset(("for", "to", "of", "in", "on", "that", "called"))


_AUXILIARIES = frozenset(
    ("is", "are", "was", "were", "does", "do", "did", "can", "could", "has", "have", "had",
     "will", "would", "should")
)  # fmt: skip


def _fact_end(text: str, tokens: list[str]) -> bool:
    """'Amazing Grace was written by who?': the question word at the end."""
    if not text.rstrip().endswith("?") or len(tokens) > 14:
        return False
    return bool(tokens) and (tokens[-1] in _FACT_ENDS or " ".join(tokens[-2:]) in _FACT_ENDS)


def _polite_request(start: list[str]) -> bool:
    return len(start) >= 3 and start[1] in ("you", "u") and start[2] in REQUEST_VERBS


def _request(start: list[str]) -> bool:
    for size in (4, 3, 2, 1, 0):
        if size == 0 or " ".join(start[:size]) in REQUEST_PREFIXES:
            return len(start) > size and start[size] in REQUEST_VERBS
    return False


def is_acknowledgement(text: str, tokens: list[str] | None = None) -> bool:
    """A thank-you / okay / got it: short, no question, mostly acknowledgement words and no
    request ('ok compiling now, ty' and 'ahh that was it, fixed! cheers' count)."""
    if not text or len(text) > 160 or "?" in text:
        return False
    words = tokens if tokens is not None else tokens_of(text)
    if not 0 < len(words) <= 16:
        return False
    known = sum(1 for word in words if word in ACK_WORDS)
    if known == len(words):
        return True
    if len(words) > 10 or 2 * known < len(words) or words[0] in REQUEST_VERBS:
        return False
    return not any(word in _NOT_ACK for word in words)


_NOT_ACK = frozenset(
    ("but", "next", "same", "also", "can", "could", "please", "add", "make", "change", "more",
     "less", "instead", "another", "shorter", "longer", "again", "what", "how", "why", "which")
)  # fmt: skip


HARD_CUES = (
    "long_writing", "code_fence", "code_lang", "code_syntax", "error_text", "proof",
    "original_language", "language_terms", "script", "multipart", "steps", "math_terms",
    "deep_analysis",
)  # fmt: skip


def hardness(counts: dict[str, int]) -> float:
    """How many hard-task cue families fired, squashed to [0, 1]: the 'looked hard' of a turn."""
    fired = sum(1 for name in HARD_CUES if counts.get(name))
    return min(1.0, fired / 3.0)
