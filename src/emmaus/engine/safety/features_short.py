"""`text_features` for short texts, in plain Python: bit for bit the numpy version's result.

The numpy path (`features.hashed`, `encoding._unit`) costs a fixed ~25 numpy calls whatever the
text's length, which is most of a verdict's time on a short message or a stream's opening words
(and twice that on a server whose caches are cold). Under `SHORT_BYTES` the same polynomial
hashes, salts, mixing and unit scaling are computed on Python ints (masked to 64 bits, as numpy's
uint64 arithmetic wraps), so the model sees exactly the same vector; a test compares both on
many texts."""

from __future__ import annotations

import math
from collections import Counter
from functools import lru_cache
from itertools import accumulate
from operator import mul

import numpy as np

from emmaus.engine.safety.concepts import concept_mask_of_runs
from emmaus.engine.safety.features import (
    _GOLDEN,
    _M1,
    _P_INT,
    _RUN_SALTS,
    MAX_PHRASE_WORDS,
    FeatureSpec,
    _char_salts,
)

SHORT_BYTES = 64  # padded bytes; past about this the numpy path is as fast
_MASK = (1 << 64) - 1
_P_INV_INT = pow(_P_INT, -1, 1 << 64)
_POW = [pow(_P_INT, i, 1 << 64) for i in range(SHORT_BYTES + 2)]
_POW_INV = [pow(_P_INV_INT, i, 1 << 64) for i in range(SHORT_BYTES + 2)]
_GOLDEN_INT, _M1_INT = int(_GOLDEN), int(_M1)


@lru_cache(maxsize=8)
def _salts(spec: FeatureSpec, context: bool) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(word n, salt) for the spec's word n-grams and (char n, salt) for its char n-grams."""
    run_salts = [int(v) for v in _RUN_SALTS[context]]
    words = [(k, run_salts[k - 1]) for k in spec.word_ns if k <= MAX_PHRASE_WORDS]
    salts = [int(v) for v in _char_salts(context, spec.char_ns)]
    chars = list(zip(spec.char_ns, salts, strict=True))
    return words, chars


def _unit(buckets: list[int], weight: float) -> tuple[list[int], list[float]]:
    """Distinct buckets, sorted, each valued weight * count / (L2 norm of the counts)."""
    if not buckets:
        return [], []
    ordered = sorted(set(buckets))
    if len(ordered) == len(buckets):  # no bucket twice: the usual case
        return ordered, [float(np.float32(weight / math.sqrt(len(buckets))))] * len(ordered)
    counts = Counter(buckets)
    scale = np.float32(weight / math.sqrt(sum(c * c for c in counts.values())))
    return ordered, [float(np.float32(counts[b]) * scale) for b in ordered]


def short_text_features(
    raw: bytes, spec: FeatureSpec, context: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """`encoding.text_features` of the padded text `raw` (" " + normalised + " ", encoded),
    for 3 <= len(raw) <= SHORT_BYTES."""
    n = len(raw)
    # Prefix sums are left unmasked (they stay under 2**78): a difference is only ever used
    # multiplied and masked, and equal modulo 2**64 is all the hash needs.
    prefix = list(accumulate(map(mul, raw, _POW_INV), initial=0))
    spaces = [i for i, byte in enumerate(raw) if byte == 32]
    words = len(spaces) - 1
    word_salts, char_salts = _salts(spec, context)
    shift, m, g, m1, pw = 64 - spec.bits, _MASK, _GOLDEN_INT, _M1_INT, _POW
    lefts = [prefix[at + 1] for at in spaces]
    by_length: dict[int, list[int]] = {}  # runs of k words, by start
    for k in range(1, min(MAX_PHRASE_WORDS, words) + 1):
        by_length[k] = [
            ((prefix[right] - left) * pw[right - 1]) & m
            for left, right in zip(lefts[: words - k + 1], spaces[k:], strict=True)
        ]
    runs = [run for of_length in by_length.values() for run in of_length]
    word_buckets = [
        ((((x := ((run ^ salt) * g) & m) ^ (x >> 29)) * m1) & m) >> shift
        for k, salt in word_salts
        for run in by_length.get(k, ())
    ]
    # The same mixing, inlined: a function call per n-gram would double the cost.
    char_buckets = [
        (
            (
                (
                    (x := (((((prefix[s + k] - prefix[s]) * pw[s + k - 1]) & m) ^ salt) * g) & m)
                    ^ (x >> 29)
                )
                * m1
            )
            & m
        )
        >> shift
        for k, salt in char_salts
        for s in range(n - k + 1)
    ]
    w_idx, w_val = _unit(word_buckets, spec.word_weight)
    c_idx, c_val = _unit(char_buckets, spec.char_weight)
    return (
        np.array(w_idx + c_idx, dtype=np.intp),
        np.array(w_val + c_val, dtype=np.float32),
        concept_mask_of_runs(runs),
    )
