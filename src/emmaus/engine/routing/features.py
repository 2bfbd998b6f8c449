"""Features of a conversation for the tier classifier: a sparse vector of named features (cues,
structure, conversation) followed by hashed word unigrams/bigrams of the newest user turn, of its
final question clause (a long friendly message ending in one fact is tier 1), of its first
sentence (where instructions usually sit) and of the previous user turn. Cost is bounded: see
`segments` (only the newest turn's last 4,000 characters and a short tail of history are read).

`prior` (optional) scores an earlier user turn on its own: the model's own view of whether the
exchange so far was hard, so "and the next step?" inherits the task's tier."""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from emmaus.engine.routing.cues import cue_counts, hardness, tokens_of
from emmaus.engine.routing.segments import has_scripture_reference, segment, turns
from emmaus.engine.types import Message

# An earlier user turn → its (p1, p2, p3) on its own, and its cue counts (computed on the way).
Prior = Callable[[str], tuple[Sequence[float], dict[str, int]]]

# Cues kept as features of the newest turn: (cue, saturation count).
_TURN_CUES: tuple[tuple[str, int], ...] = (
    ("long_writing", 1), ("long_deliverable", 2), ("short_writing", 1), ("write_verb", 2),
    ("length_demand", 2), ("brevity", 1), ("multipart", 3), ("list_items", 4),
    ("code_fence", 1), ("code_lang", 2), ("code_words", 3), ("code_syntax", 4),
    ("error_text", 2), ("debug", 1), ("proof", 1), ("math_terms", 2), ("arithmetic", 1),
    ("math_symbols", 3), ("steps", 1), ("original_language", 2), ("language_terms", 1),
    ("script", 1), ("deep_analysis", 2), ("traditions", 3), ("explain", 2), ("advice", 2),
    ("definition", 1), ("request", 1), ("greeting", 1), ("followup", 1), ("deictic", 2),
    ("acknowledgement", 1), ("gratitude", 2), ("asks", 1), ("conversion", 1),
    ("arithmetic_words", 1), ("in_language", 1), ("long_length", 1), ("short_length", 1),
)  # fmt: skip
# Cues read on the final sentence alone: what the question at the end asks.
_FINAL_CUES = ("fact_start", "yes_no", "definition", "request", "explain", "advice", "proof",
               "brevity", "code_lang", "deep_analysis")  # fmt: skip
# Cues read on the first sentence when the turn has several: where instructions sit.
_FIRST_CUES = ("request", "explain", "advice", "definition", "short_writing", "long_writing",
               "fact_start", "greeting")  # fmt: skip
_PREV_CUES = ("code_fence", "code_lang", "code_syntax", "error_text", "proof", "long_writing",
              "original_language", "multipart", "deep_analysis", "math_terms")  # fmt: skip
_WORD_BUCKETS = (3, 8, 15, 30, 60, 120, 250)
_BODY_TOKENS = 400  # hashed words of a long turn: its last 400


def _named() -> tuple[str, ...]:
    names = [f"cue:{name}" for name, _ in _TURN_CUES]
    names += [f"final:{name}" for name in _FINAL_CUES]
    names += [f"first:{name}" for name in _FIRST_CUES]
    names += [f"prev:{name}" for name in _PREV_CUES]
    names += ["provided_text", "scripture_reference", "verse_lookup", "code_request",
              "plain_fact_question", "numbers", "breadth", "no_ask", "closing_thanks",
              "short_calculation"]  # fmt: skip
    names += [f"words<={b}" for b in _WORD_BUCKETS] + [f"words>{_WORD_BUCKETS[-1]}"]
    names += [f"final_words<={b}" for b in _WORD_BUCKETS[:4]] + [f"final_words>{_WORD_BUCKETS[3]}"]
    names += ["log_words", "questions:0", "questions:1", "questions:2", "questions:3+"]
    names += ["final_is_question", "final_short_question", "body_before_final"]
    names += ["turns:1", "turns:2-3", "turns:4+", "prev_assistant_log_len",
              "prev_assistant_long", "prev_assistant_code", "prev_user_hard", "prev_user_log_len",
              "history_hard", "prev_prior_2", "prev_prior_3", "inherit_1", "inherit_2",
              "inherit_3", "ack_after_hard", "ack_after_easy", "followup_after_hard",
              "short_after_hard", "short_after_easy", "followup_after_easy"]  # fmt: skip
    return tuple(names)


NAMED: tuple[str, ...] = _named()
NAMED_INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMED)}
# Surface shape (length, question marks, turn count): informative, but the least likely to carry
# over to differently written traffic, so training may shrink them harder.
SHAPE: tuple[int, ...] = tuple(
    i for i, name in enumerate(NAMED)
    if name.startswith(("words", "final_words", "log_words", "questions:", "turns:"))
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """What the hashed part of the vector holds; saved in the artifact with the weights."""

    hash_bits: int = 15
    body_weight: float = 1.0
    final_weight: float = 1.0
    prev_weight: float = 0.5
    first_weight: float = 0.5
    bigrams: bool = False  # body bigrams (the final question and first sentence always get them)

    @property
    def dimension(self) -> int:
        return len(NAMED) + (1 << self.hash_bits)

    def to_dict(self) -> dict[str, float | int | bool]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, float | int | bool]) -> FeatureConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]


@dataclass(slots=True)
class Features:
    """A sparse vector: index → value. `hashed` keeps (namespace, indices, grams) so the words
    behind a hashed index can be named for a reason without a second pass."""

    values: dict[int, float]
    hashed: list[tuple[str, list[int], list[str]]]
    counts: dict[str, int] | None = None  # cue counts of the newest user turn

    def term(self, index: int) -> str:
        """The namespaced gram behind hashed `index` (first one, if several collide)."""
        for namespace, indices, grams in self.hashed:
            for candidate, gram in zip(indices, grams, strict=True):
                if candidate == index:
                    return namespace + gram
        return ""


class _Hasher:
    def __init__(self, config: FeatureConfig, features: Features) -> None:
        self.mask = (1 << config.hash_bits) - 1
        self.offset = len(NAMED)
        self.features = features

    def add(self, namespace: str, tokens: list[str], weight: float, bigrams: bool) -> None:
        if not tokens or weight == 0:
            return
        grams = dict.fromkeys(tokens)  # insertion-ordered: the same text sums the same way
        if bigrams:
            grams.update(dict.fromkeys(map(" ".join, itertools.pairwise(tokens))))
        keys = list(grams)
        value = weight / math.sqrt(len(keys))
        crc, seed, mask, offset = zlib.crc32, zlib.crc32(namespace.encode()), self.mask, self.offset
        # crc32(gram, crc32(namespace)) == crc32(namespace + gram): no string concatenation.
        indices = [offset + (crc(gram.encode(), seed) & mask) for gram in keys]
        values = self.features.values
        get = values.get
        for index in indices:
            values[index] = get(index, 0.0) + value
        self.features.hashed.append((namespace, indices, keys))


def extract(
    messages: Sequence[Message], config: FeatureConfig, prior: Prior | None = None
) -> Features:
    conversation = turns(messages)
    newest = conversation.newest
    features = Features(values={}, hashed=[])
    values = features.values

    def put(name: str, value: float) -> None:
        if value:
            values[NAMED_INDEX[name]] = value

    tokens = tokens_of(newest)
    counts = cue_counts(newest, tokens)
    features.counts = counts
    for name, cap in _TURN_CUES:
        put(f"cue:{name}", min(counts[name], cap) / cap)
    parts = segment(newest)
    final = parts.final
    same = final == newest.strip()
    final_tokens = tokens if same else tokens_of(final)
    final_counts = counts if same else cue_counts(final, final_tokens, characters=False)
    for name in _FINAL_CUES:
        put(f"final:{name}", float(final_counts[name] > 0))
    first_tokens: list[str] = []
    if parts.first:
        first_tokens = tokens_of(parts.first)
        first_counts = cue_counts(parts.first, first_tokens, characters=False)
        for name in _FIRST_CUES:
            put(f"first:{name}", float(first_counts[name] > 0))

    words, final_words = len(tokens), len(final_tokens)
    put(_bucket("words", words, _WORD_BUCKETS), 1.0)
    put(_bucket("final_words", final_words, _WORD_BUCKETS[:4]), 1.0)
    put("log_words", min(1.0, math.log1p(words) / 7.0))
    questions = newest.count("?")
    put(f"questions:{min(questions, 3)}" + ("+" if questions >= 3 else ""), 1.0)
    final_question = "?" in final
    put("final_is_question", float(final_question))
    put("final_short_question", float(final_question and final_words <= 12))
    put("body_before_final", min(1.0, max(0, words - final_words) / 60.0))
    put("provided_text", float(parts.provided))
    reference = has_scripture_reference(newest)
    put("scripture_reference", float(reference))
    hard = hardness(counts)
    put("verse_lookup", float(reference and words <= 16 and hard == 0 and not counts["explain"]))
    code = counts["code_lang"] + counts["code_fence"] + min(counts["code_syntax"], 2)
    code += counts["code_words"] > 1 or (counts["code_words"] > 0 and counts["request"] > 0)
    asks_fact = final_counts["fact_start"] + final_counts["definition"] + final_counts["yes_no"]
    builds = (counts["request"] and not counts["explain"]) or counts["code_fence"]
    builds = builds or counts["code_syntax"] > 1 or counts["error_text"] or counts["in_language"]
    put("code_request", float(code > 0 and not asks_fact and (builds or not counts["explain"])))
    hard_ask = hard > 0 or counts["request"] or counts["write_verb"] or counts["explain"]
    put("plain_fact_question", float(asks_fact > 0 and final_words <= 15 and not hard_ask))
    asks = (questions > 0 or counts["asks"] or counts["request"] or final_counts["request"]
            or (parts.first and first_counts["request"]))  # fmt: skip
    task = hard > 0 or code > 0 or counts["long_deliverable"] or counts["short_writing"]
    task = task or counts["explain"] or counts["advice"] or counts["definition"]
    put("no_ask", float(not asks and not task))
    put("closing_thanks", float(counts["gratitude"] > 0 and not asks))
    calculation = counts["arithmetic"] + counts["arithmetic_words"] + counts["conversion"]
    put("short_calculation", float(calculation > 0 and words <= 30 and not counts["steps"]
                                   and not counts["proof"]))  # fmt: skip
    put("numbers", min(1.0, tokens.count("#n") / 6.0))
    put("breadth", min(1.0, newest.count(",") / 8.0))

    _context(conversation.earlier, conversation.assistant, counts, words, put, prior)

    hasher = _Hasher(config, features)
    hasher.add("b:", tokens[-_BODY_TOKENS:], config.body_weight, config.bigrams)
    hasher.add("f:", final_tokens, config.final_weight, True)
    hasher.add("s:", [f"^{t}" for t in final_tokens[:2]], config.final_weight * 0.5, False)
    if first_tokens:
        hasher.add("h:", first_tokens, config.first_weight, True)
    if conversation.earlier:
        hasher.add("p:", tokens_of(conversation.earlier[0])[-_BODY_TOKENS:], config.prev_weight,
                   False)  # fmt: skip
    return features


def _context(
    earlier: Sequence[str],
    assistant: str,
    counts: dict[str, int],
    words: int,
    put: Callable[[str, float], None],
    prior: Prior | None,
) -> None:
    """Conversation features: how hard the exchange so far looked, and how the newest turn
    relates to it (a thank-you, a follow-up, a short continuation)."""
    user_turns = len(earlier) + 1
    put("turns:1" if user_turns == 1 else "turns:2-3" if user_turns <= 3 else "turns:4+", 1.0)
    prev_hard = 0.0
    if earlier:
        p: Sequence[float] = ()
        if prior is not None:
            p, prev = prior(earlier[0])
        else:
            prev = cue_counts(earlier[0])
        for name in _PREV_CUES:
            put(f"prev:{name}", float(prev[name] > 0))
        prev_hard = hardness(prev)
        put("prev_user_hard", prev_hard)
        put("prev_user_log_len", min(1.0, math.log1p(len(earlier[0])) / 8.0))
        history = max([prev_hard, *(hardness(cue_counts(t)) for t in earlier[1:3])])
        put("history_hard", history)
        prev_hard = max(prev_hard, 0.5 * history)
        if len(p):
            put("prev_prior_2", float(p[1]))
            put("prev_prior_3", float(p[2]))
            prev_hard = max(prev_hard, float(p[2]) + 0.5 * float(p[1]))
    if assistant:
        put("prev_assistant_log_len", min(1.0, math.log1p(len(assistant)) / 8.0))
        put("prev_assistant_long", float(len(assistant) >= 1200))
        put("prev_assistant_code", float("```" in assistant))
        prev_hard = max(prev_hard, 0.5 * float(len(assistant) >= 1200 or "```" in assistant))
    if earlier or assistant:
        ack = float(counts["acknowledgement"] > 0)
        followup = float(counts["followup"] > 0)
        short = float(words <= 12 and not ack)
        if earlier and len(p):
            for tier in (1, 2, 3):
                put(f"inherit_{tier}", (1.0 - ack) * float(p[tier - 1]))
        put("ack_after_hard", ack * prev_hard)
        put("ack_after_easy", ack * (1.0 - prev_hard))
        put("followup_after_hard", followup * prev_hard)
        put("followup_after_easy", followup * (1.0 - prev_hard))
        put("short_after_hard", short * prev_hard)
        put("short_after_easy", short * (1.0 - prev_hard))


def _bucket(prefix: str, value: int, bounds: tuple[int, ...]) -> str:
    for bound in bounds:
        if value <= bound:
            return f"{prefix}<={bound}"
    return f"{prefix}>{bounds[-1]}"
