"""One message plus its context window as the model's sparse input: (indices, values).

Shared by training and inference, so both see exactly the same vector. The newest message and
each context turn (the last `CONTEXT_TURNS` earlier user turns, at most `CONTEXT_CHARS`
characters, newest kept) are hashed with different salts: the model learns separately what a word
means in the message being answered and what it means a few turns back. Each context turn is
encoded on its own (its n-gram values normalised by its own length) and the turns are summed with
weight context_weight / sqrt(turns), so a turn's contribution to a score can be computed once and
cached while the conversation goes on. Concept features: the newest message's concepts and their
pairs, the context's concepts (union over turns), and newest x context pairs (`concepts`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emmaus.engine.safety.concepts import EXTRA_DIM, concept_feature_lists, concept_mask
from emmaus.engine.safety.features import FeatureSpec, hashed
from emmaus.engine.safety.features_short import SHORT_BYTES, short_text_features
from emmaus.engine.safety.normalize import normalize

CONTEXT_TURNS = 4
CONTEXT_CHARS = 2000


def bound_context(
    context: Sequence[str], turns: int = CONTEXT_TURNS, chars: int = CONTEXT_CHARS
) -> list[str]:
    """The last `turns` earlier turns (oldest first), cut to `chars` characters, newest kept."""
    kept: list[str] = []
    budget = chars
    for turn in reversed(context[-turns:] if turns else ()):
        if budget <= 0:
            break
        text = turn[-budget:]
        kept.append(text)
        budget -= len(text) + 1
    kept.reverse()
    return kept


def context_turns(context: Sequence[str]) -> tuple[str, ...]:
    """The bounded context window, normalised, empty turns dropped."""
    return tuple(n for n in (normalize(turn) for turn in bound_context(context)) if n)


def input_dim(spec: FeatureSpec) -> int:
    """Rows of the weight matrix: hashed n-gram buckets, then the concept block."""
    return spec.dim + EXTRA_DIM


def _unit(idx: np.ndarray, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """Each distinct bucket once, valued weight * count / (L2 norm of the counts): a group's
    vector has length `weight` whatever the text. Dividing by the square root of the number of
    n-grams instead gave a text that repeats itself ("word word word ...") a vector 17 times
    longer than any sentence's, and with it any score the weights of its few n-grams allowed."""
    n = idx.shape[0]
    if not n:
        return _NO_IDX, _NO_VAL
    # np.unique(idx, return_counts=True), in a third of its time (this runs on every message).
    ordered = np.sort(idx)
    first = np.empty(n, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    if first.all():  # no bucket twice: the usual case
        return ordered, np.full(n, np.float32(weight / float(np.sqrt(n))), np.float32)
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, n))
    norm = float(np.sqrt(np.dot(counts, counts)))
    return ordered[starts], counts.astype(np.float32) * np.float32(weight / norm)


def text_features(
    normalized: str, spec: FeatureSpec, context: bool = False
) -> tuple[np.ndarray, np.ndarray, int]:
    """(n-gram indices, their values, concept bitmask) of one normalised text."""
    raw = (" " + normalized + " ").encode()
    if 3 <= len(raw) <= SHORT_BYTES:
        return short_text_features(raw, spec, context)
    return text_features_numpy(normalized, spec, context)


def text_features_numpy(
    normalized: str, spec: FeatureSpec, context: bool = False
) -> tuple[np.ndarray, np.ndarray, int]:
    """`text_features` on numpy for any length (the short path must equal it bit for bit)."""
    word_idx, char_idx, runs = hashed(normalized, spec, context=context)
    words, word_vals = _unit(word_idx, spec.word_weight)
    chars, char_vals = _unit(char_idx, spec.char_weight)
    return (
        np.concatenate([words, chars]),
        np.concatenate([word_vals, char_vals]),
        concept_mask(runs),
    )


def turn_scale(turns: int, context_weight: float) -> float:
    return context_weight / np.sqrt(turns) if turns else 0.0


def concept_part(
    spec: FeatureSpec, newest: int, context: int, context_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the concept features."""
    if not (newest or context):
        return _NO_IDX, _NO_VAL
    groups = concept_feature_lists(newest, context)
    weights = (
        spec.concept_weight,
        spec.pair_weight,
        spec.concept_weight * context_weight,
        spec.pair_weight * context_weight,
    )
    dim = spec.dim
    idx = [dim + offset for group in groups for offset in group]
    vals = [w for w, group in zip(weights, groups, strict=True) for _ in group]
    return np.array(idx, dtype=np.intp), np.array(vals, dtype=np.float32)


_NO_IDX = np.zeros(0, dtype=np.intp)
_NO_VAL = np.zeros(0, dtype=np.float32)


def encode(
    normalized: str, turns: Sequence[str], spec: FeatureSpec, context_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    """Feature indices and their values (duplicates allowed: they add up) of the newest message
    `normalized` with the normalised context `turns` (see `context_turns`)."""
    idx, vals, newest = text_features(normalized, spec)
    parts_idx, parts_val = [idx], [vals]
    context = 0
    scale = turn_scale(len(turns), context_weight)
    for turn in turns:
        t_idx, t_vals, mask = text_features(turn, spec, context=True)
        parts_idx.append(t_idx)
        parts_val.append(t_vals * np.float32(scale))
        context |= mask
    c_idx, c_vals = concept_part(spec, newest, context, context_weight)
    parts_idx.append(c_idx)
    parts_val.append(c_vals)
    return np.concatenate(parts_idx), np.concatenate(parts_val)
