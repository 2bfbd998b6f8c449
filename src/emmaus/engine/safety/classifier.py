"""The offline safety classifier: a hashed n-gram and concept linear model plus patterns.

Scores, per category, in [0, 1], where 0.5 is the operating point tuned by cross-validation on
the training data (the policy's default threshold). How one input is scored:

1. The newest message and its context window (`encoding`) become hashed word and character
   n-gram features and lexicon concepts; a one-vs-rest logistic model gives a probability for
   each of the ten categories and for two group heads, "any crisis" and "any harmful request"
   (each head is trained on the union of its group's labels, so it sees every positive row).
2. If the newest message has an idiom or framing guard ("killing me lol", "in my novel", "signs
   of") and no crisis pattern matched, the crisis probabilities are multiplied by `guard_damp`.
3. Each group head lends its probability to its group's most likely category:
   p_c = max(p_c, p_head) for that one category.
4. Crisis patterns (`patterns`) that match the newest message raise their category to at least
   `patterns.FLOOR`; patterns that match the context raise it to at least `context_floor` (a
   crisis said two turns ago still stands when the newest turn is "ok" or "thanks").
5. A clear crisis stands for `CARRY_TURNS` turns: when one of the last `CARRY_TURNS` earlier
   turns, read alone by the first stage (steps 1-4 without the embedding, cached), scores
   `CARRY_MIN` or more for a crisis category, the newest turn scores at least that too. "I'm in
   the bath with the knife" followed by "can you recommend a peaceful song" is still a crisis.
   Only clear ones carry: short sad turns ("the house feels so empty now") often score over the
   threshold alone, and a grief conversation must not be treated as a crisis for three turns
   (chosen on the dev splits, with the models trained before heldout_v2 joined them: at 0.9, 16
   missed crisis conversations caught for 1 benign one flagged; at 0.8, 24 for 7).
   Harmful-request categories do not carry (a refused request does not taint the next one).

Between steps 1 and 2, when the first stage is uncertain (its highest calibrated logit is over
the second stage's gate), the logits are blended with those of the sentence-embedding stage
(`semantic`); everyday messages far under the gate never pay for an embedding.

Texts longer than one hashing chunk are scored per chunk and the maximum taken. The first stage
is numpy and regular expressions; the second, onnxruntime on the CPU. No download, no torch."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from emmaus.engine.safety import artifact, semantic
from emmaus.engine.safety.encoding import (
    concept_part,
    context_turns,
    text_features,
    turn_scale,
)
from emmaus.engine.safety.features import MAX_BYTES
from emmaus.engine.safety.normalize import normalize
from emmaus.engine.safety.output_rules import output_floors, refusal_or_support
from emmaus.engine.safety.patterns import dampened, first_person, pattern_floors
from emmaus.engine.safety.verdict import CATEGORIES, CRISIS_CATEGORIES, HARMFUL_CATEGORIES

HEADS: tuple[str, ...] = (*CATEGORIES, "crisis_any", "harmful_any")
_CRISIS = np.array([c in CRISIS_CATEGORIES for c in HEADS[:10]] + [True, False])
_CRISIS_IDX = np.array([CATEGORIES.index(c) for c in CRISIS_CATEGORIES])
_HARMFUL_IDX = np.array([CATEGORIES.index(c) for c in HARMFUL_CATEGORIES])
_CHUNK = MAX_BYTES // 2  # characters; normalised text may take more bytes than characters
_OUTPUT_WINDOW = 600
CARRY_TURNS = 3
CARRY_MIN = 0.9


def _chunks(normalized: str) -> list[str]:
    if len(normalized) <= _CHUNK:
        return [normalized]
    chunks: list[str] = []
    start = 0
    while start < len(normalized):
        end = min(len(normalized), start + _CHUNK)
        if end < len(normalized):
            cut = normalized.rfind(" ", start, end)
            end = cut if cut > start else end
        chunks.append(normalized[start:end].strip())
        start = end
    return [c for c in chunks if c]


def _windows(normalized: str) -> list[str]:
    """Overlapping windows (half a window apart) covering `normalized`."""
    if len(normalized) <= _OUTPUT_WINDOW:
        return [normalized]
    step = _OUTPUT_WINDOW // 2
    return [normalized[i : i + _OUTPUT_WINDOW] for i in range(0, len(normalized) - step, step)]


_GROUPS = ((_CRISIS_IDX.tolist(), 10), (_HARMFUL_IDX.tolist(), 11))
_HARMFUL_AT = _HARMFUL_IDX.tolist()


def combine_heads(p: np.ndarray | list[float]) -> list[float]:
    """Ten category probabilities from the twelve head probabilities (step 3 above). On Python
    floats: for twelve numbers, a numpy call costs more than the arithmetic."""
    values = p.tolist() if isinstance(p, np.ndarray) else p
    out = values[:10]
    for group, head in _GROUPS:
        top = max(group, key=out.__getitem__)  # the first highest, as np.argmax
        out[top] = max(out[top], values[head])
    return out


class SafetyClassifier:
    def __init__(
        self,
        model: artifact.Model,
        use_patterns: bool = True,
        second: semantic.SemanticModel | None = None,
        embedder: semantic.SentenceCache | None = None,
    ) -> None:
        """`second` and `embedder`: the second stage (both, or it is off)."""
        self.model = model
        self.use_patterns = use_patterns  # False: the model alone (for evaluation)
        if second is not None and second.heads != HEADS:
            raise ValueError("the second stage's heads do not match the first stage's")
        self.second = second if embedder is not None else None
        self.embedder = embedder
        self.second_runs = 0  # inputs the second stage scored (for the benchmarks)
        self.spec = model.spec
        meta = model.meta
        self.context_weight = float(meta.get("context_weight", 0.5))
        self.guard_damp = float(meta.get("guard_damp", 1.0))
        self.context_floor = float(meta.get("context_floor", 0.75))
        self.output_margin = float(meta.get("output_margin", 1.0))
        order = [model.categories.index(c) for c in HEADS]
        self._weights = np.ascontiguousarray(model.weights[:, order])
        self._bias = model.bias.astype(np.float64)[order]
        self._turn_cache: dict[str, tuple[np.ndarray, int]] = {}
        self._alone_cache: dict[str | bytes, dict[str, float]] = {}

    @classmethod
    def load(
        cls, path: Path | str | None = None, second: Path | str | None = None
    ) -> SafetyClassifier:
        """The shipped models (loaded once per process), or the first stage at `path` with the
        second stage at `second` (none if not given)."""
        if path is None:
            return _default()
        if second is None:
            return cls(artifact.load(Path(path)))
        return cls(
            artifact.load(Path(path)), second=semantic.load(Path(second)), embedder=_embedder()
        )

    def first_stage(self) -> SafetyClassifier:
        """The same model with the second stage off (for evaluation)."""
        return SafetyClassifier(self.model, self.use_patterns)

    def _dot(self, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
        if not idx.shape[0]:
            return np.zeros(len(HEADS))
        # float32 throughout and einsum (not BLAS): no threads, same result on every machine.
        return np.einsum("i,ij->j", vals, np.take(self._weights, idx, axis=0)).astype(np.float64)

    def _turn(self, normalized: str) -> tuple[np.ndarray, int]:
        """A context turn's contribution to the logits (before scaling) and its concepts,
        cached: in a conversation the same earlier turns are scored again on every request."""
        cached = self._turn_cache.get(normalized)
        if cached is None:
            idx, vals, mask = text_features(normalized, self.spec, context=True)
            cached = (self._dot(idx, vals), mask)
            if len(self._turn_cache) >= 4096:
                self._turn_cache.pop(next(iter(self._turn_cache)))
            self._turn_cache[normalized] = cached
        return cached

    def logits(self, normalized: str, turns: tuple[str, ...] = ()) -> np.ndarray:
        """Model logits of the twelve `HEADS` (bias already shifted to the tuned thresholds)."""
        context = np.zeros(len(HEADS))
        context_mask = 0
        scale = turn_scale(len(turns), self.context_weight)
        for turn in turns:
            z, mask = self._turn(turn)
            context += scale * z
            context_mask |= mask
        best: np.ndarray | None = None
        for chunk in _chunks(normalized) or [""]:
            idx, vals, newest = text_features(chunk, self.spec)
            c_idx, c_vals = concept_part(self.spec, newest, context_mask, self.context_weight)
            if c_idx.shape[0]:
                idx, vals = np.concatenate([idx, c_idx]), np.concatenate([vals, c_vals])
            z = self._bias + context + self._dot(idx, vals)
            best = z if best is None else np.maximum(best, z)
        assert best is not None
        return best

    def head_logits(
        self, normalized: str, turns: tuple[str, ...], second: bool = True
    ) -> np.ndarray:
        """The first stage's logits, blended with the second stage's when it is uncertain (and
        `second`)."""
        z = self.logits(normalized, turns)
        if (
            second
            and self.second is not None
            and self.embedder is not None
            and self.second.gated(z)
        ):
            self.second_runs += 1
            newest = self.embedder.embed(normalized or " ")
            z = self.second.blend(z, newest, self.embedder.context(turns))
        return z

    def head_scores(
        self, text: str, context: Sequence[str] = (), second: bool = True
    ) -> np.ndarray:
        """Probabilities of the twelve heads after guard damping (steps 1-2), no patterns."""
        normalized = normalize(text)
        p = 1.0 / (1.0 + np.exp(-self.head_logits(normalized, context_turns(context), second)))
        if self.guard_damp != 1.0 and dampened(normalized) and not pattern_floors(normalized):
            p = np.where(_CRISIS, p * self.guard_damp, p)
        return p

    def floors(self, text: str, context: Sequence[str] = ()) -> dict[str, float]:
        """Pattern floors by category (step 4)."""
        if not self.use_patterns:
            return {}
        floors = pattern_floors(normalize(text))
        for turn in context_turns(context):
            for category in pattern_floors(turn):
                if category in CRISIS_CATEGORIES:
                    floors[category] = max(floors.get(category, 0.0), self.context_floor)
        return floors

    def score(self, text: str, context: Sequence[str] = ()) -> dict[str, float]:
        """Scores of every category for `text`, the newest user message, with `context` (earlier
        user messages, oldest first; bounded by `encoding.bound_context`).

        A request for a self-harm method written in the first person ("how do i hide the marks",
        "is this enough for me") is also scored as self-harm, at least as high: the person
        asking may be the one at risk (the data labels such rows with both); not when the text
        has a framing guard ("my character", "for my essay": `patterns`)."""
        scores = self._score(text, context)
        for turn in context[-CARRY_TURNS:] if self.use_patterns else ():
            alone = self._alone(turn)
            for category in CRISIS_CATEGORIES:
                if alone[category] >= CARRY_MIN:
                    scores[category] = max(scores[category], alone[category])
        return scores

    def _score(self, text: str, context: Sequence[str], second: bool = True) -> dict[str, float]:
        """Steps 1-4 (see the module's docstring)."""
        p = combine_heads(self.head_scores(text, context, second))
        scores = dict(zip(CATEGORIES, p, strict=True))
        for category, floor in self.floors(text, context).items():
            scores[category] = max(scores[category], floor)
        normalized = normalize(text)
        if first_person(normalized) and not dampened(normalized):
            scores["self_harm"] = max(scores["self_harm"], scores["self_harm_instructions"])
        return {c: round(v, 4) for c, v in scores.items()}

    def _alone(self, turn: str) -> dict[str, float]:
        """An earlier turn's scores read on its own by the first stage (step 5), cached. Not the
        second: an embedding costs ~5 ms, and the previous turn was last scored with its own
        context, so every turn would embed one more text."""
        # A long turn is keyed by its digest: 4,096 pasted documents must not stay in memory.
        key = turn if len(turn) <= 512 else hashlib.blake2b(turn.encode(), digest_size=16).digest()
        cached = self._alone_cache.get(key)
        if cached is None:
            blank = not turn.strip()
            cached = dict.fromkeys(CATEGORIES, 0.0) if blank else self._score(turn, (), False)
            if len(self._alone_cache) >= 4096:
                self._alone_cache.pop(next(iter(self._alone_cache)))
            self._alone_cache[key] = cached
        return cached

    def score_output(self, text: str) -> dict[str, float]:
        """Scores for model-written text: crisis categories are 0; harmful ones are the larger of
        the model (on windows of `_OUTPUT_WINDOW` characters, `output_margin` logits stricter
        than for inputs, and not at all for text that reads as a refusal or as support) and
        the method-detail rules of `output_rules`."""
        normalized = normalize(text)
        scores = dict.fromkeys(CATEGORIES, 0.0)
        if not refusal_or_support(normalized):
            windows = _windows(normalized)
            z = self.logits(windows[0])
            if len(windows) > 1:
                z = np.max([z, *(self.logits(w) for w in windows[1:])], axis=0)
            p = combine_heads(1.0 / (1.0 + np.exp(-(z - self.output_margin))))
            for category, at in zip(HARMFUL_CATEGORIES, _HARMFUL_AT, strict=True):
                scores[category] = p[at]
        for category, floor in output_floors(normalized).items():
            scores[category] = max(scores[category], floor)
        return {c: round(v, 4) for c, v in scores.items()}


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _embedder() -> semantic.SentenceCache | None:
    return semantic.shared_embedder()


@lru_cache(maxsize=1)
def _default() -> SafetyClassifier:
    first = artifact.load(artifact.DEFAULT_PATH)
    if not semantic.DEFAULT_PATH.exists():
        return SafetyClassifier(first)
    return SafetyClassifier(first, second=semantic.load(), embedder=_embedder())
