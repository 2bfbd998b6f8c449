"""Hashed n-gram and concept features, computed with numpy in a handful of vector operations.

A normalised text (see `normalize`) is padded with a space and read as bytes. Every substring we
use (a run of one to seven words, a character n-gram) gets a polynomial hash modulo 2**64 from
one prefix sum, so no Python loop runs per feature: hash(s[l:r]) = (S[r] - S[l]) * P**(r-1) with
S[i] = sum_{j<i} s[j] * P**-j. For the model's n-gram features the hash is salted by kind (word
n, char n, newest message or context), mixed, and its top `bits` bits are the bucket. The same
unsalted word-run hashes are looked up in the concept lexicon (`concepts`).

A text becomes (word indices, char indices, concept bitmask). The model's input vector is
x = sum_groups weight_g * counts_g / ||counts_g|| over the n-gram groups, plus the concept
features (see `encoding`), so a linear score is a gather and a sum."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_P_INT = 0x100000001B3  # odd, so invertible modulo 2**64
_P = np.uint64(_P_INT)
_P_INV = np.uint64(pow(_P_INT, -1, 1 << 64))
_MAX = 1 << 14  # bytes per hashed chunk; longer texts are scored in chunks by the caller
_POW = np.empty(_MAX + 2, dtype=np.uint64)
_POW_INV = np.empty(_MAX + 2, dtype=np.uint64)
_POW[0] = _POW_INV[0] = 1
with np.errstate(over="ignore"):
    for _i in range(1, _MAX + 2):
        _POW[_i] = _POW[_i - 1] * _P
        _POW_INV[_i] = _POW_INV[_i - 1] * _P_INV
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MAX_BYTES = _MAX
MAX_PHRASE_WORDS = 7


def phrase_hash(phrase: str) -> int:
    """The unsalted hash of a whole normalised phrase, as `word_runs` computes it in a text."""
    h = 0
    for byte in phrase.encode():
        h = (h * _P_INT + byte) & 0xFFFFFFFFFFFFFFFF
    return h


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    bits: int = 16
    word_ns: tuple[int, ...] = (1, 2, 3)
    char_ns: tuple[int, ...] = (4,)
    word_weight: float = 1.0
    char_weight: float = 1.0
    concept_weight: float = 0.15
    pair_weight: float = 0.15

    @property
    def dim(self) -> int:
        return 1 << self.bits

    def to_json(self) -> dict[str, object]:
        return {
            "bits": self.bits,
            "word_ns": list(self.word_ns),
            "char_ns": list(self.char_ns),
            "word_weight": self.word_weight,
            "char_weight": self.char_weight,
            "concept_weight": self.concept_weight,
            "pair_weight": self.pair_weight,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FeatureSpec:
        return cls(
            bits=int(data["bits"]),  # type: ignore[call-overload]
            word_ns=tuple(data["word_ns"]),  # type: ignore[arg-type]
            char_ns=tuple(data["char_ns"]),  # type: ignore[arg-type]
            word_weight=float(data["word_weight"]),  # type: ignore[arg-type]
            char_weight=float(data["char_weight"]),  # type: ignore[arg-type]
            concept_weight=float(data["concept_weight"]),  # type: ignore[arg-type]
            pair_weight=float(data["pair_weight"]),  # type: ignore[arg-type]
        )


def _salt(kind: int) -> np.uint64:
    return np.uint64((kind * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF)


_EMPTY = np.zeros(0, dtype=np.intp)
_EMPTY_U = np.zeros(0, dtype=np.uint64)


_RUN_K = np.arange(1, MAX_PHRASE_WORDS + 1)
_RUN_SALTS: dict[bool, np.ndarray] = {
    ctx: np.array([_salt((1000 if ctx else 0) + int(k)) for k in _RUN_K], dtype=np.uint64)
    for ctx in (False, True)
}
_CHAR_SALTS: dict[tuple[bool, tuple[int, ...]], np.ndarray] = {}


def _char_salts(context: bool, ns: tuple[int, ...]) -> np.ndarray:
    key = (context, ns)
    if key not in _CHAR_SALTS:
        base = 1000 if context else 0
        _CHAR_SALTS[key] = np.array([_salt(base + 10 + int(k)) for k in ns], dtype=np.uint64)
    return _CHAR_SALTS[key]


def hashed(
    normalized: str, spec: FeatureSpec, context: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(word indices, char indices, unsalted hashes of every run of 1-7 words) of one
    normalised text; `context` salts the indices apart from the newest message's.

    All runs are computed as one 2-D array (start word x run length) and all character n-grams
    as another (start byte x n), so the cost is a fixed dozen numpy calls plus the sizes.
    uint64 array arithmetic wraps modulo 2**64 silently, which is what the hash wants."""
    raw = (" " + normalized + " ").encode()[: _MAX + 1]
    if len(raw) < 3:
        return _EMPTY, _EMPTY, _EMPTY_U
    b = np.frombuffer(raw, dtype=np.uint8).astype(np.uint64)
    n = b.shape[0]
    prefix = np.zeros(n + 1, dtype=np.uint64)
    np.cumsum(b * _POW_INV[:n], out=prefix[1:])
    spaces = np.flatnonzero(b == 32)  # word w spans spaces[w] + 1 .. spaces[w + 1]
    words = spaces.shape[0] - 1
    # Runs: start word i, length k (1..7); out-of-range cells point past the end and are dropped.
    ends = np.minimum(np.arange(words)[:, None] + _RUN_K[None, :], words)
    right = spaces[ends]
    left = spaces[:-1, None] + 1
    runs = (prefix[right] - prefix[left]) * _POW[right - 1]
    valid = (np.arange(words)[:, None] + _RUN_K[None, :]) <= words
    word_cols = [k - 1 for k in spec.word_ns if k <= MAX_PHRASE_WORDS]
    word_h = (runs[:, word_cols] ^ _RUN_SALTS[context][word_cols])[valid[:, word_cols]]
    all_runs = runs.T[valid.T]  # by run length, then start: phrases of one length together
    ns = np.array(spec.char_ns)
    starts = np.arange(max(0, n - int(ns.min()) + 1))
    c_right = starts[:, None] + ns[None, :]
    c_valid = c_right <= n
    c_right = np.minimum(c_right, n)
    chars = (prefix[c_right] - prefix[starts[:, None]]) * _POW[c_right - 1]
    char_h = (chars ^ _char_salts(context, spec.char_ns))[c_valid]
    x = np.concatenate([word_h, char_h]) * _GOLDEN
    x ^= x >> np.uint64(29)
    x *= _M1
    idx = (x >> np.uint64(64 - spec.bits)).astype(np.intp)
    return idx[: word_h.shape[0]], idx[word_h.shape[0] :], all_runs
