"""Concept lookup: which `lexicon` concepts a text's word runs contain, as a bitmask.

The lexicon's phrases are normalised and hashed once at import (`features.phrase_hash`) into two
hash tables; a text's runs of one to seven words come hashed from `features.hashed`, so the
lookup is a couple of numpy gathers. Concept features live after the hashed n-gram buckets,
at fixed indices:

    [0, K)              concepts of the newest message
    [K, K + K*K)        pairs of concepts in the newest message (i <= j)
    [K + K*K, 2K + K*K) concepts of the context
    [2K + K*K, 2K + 2K*K) a newest-message concept i with a context concept j"""

from __future__ import annotations

import numpy as np

from emmaus.engine.safety.features import phrase_hash
from emmaus.engine.safety.lexicon import CONCEPTS
from emmaus.engine.safety.normalize import normalize

K = 64
NAMES: tuple[str, ...] = tuple(CONCEPTS)
if len(NAMES) > K:
    raise ValueError(f"at most {K} concepts")
EXTRA_DIM = 2 * K + 2 * K * K
_SELF_PAIRS = K
_CONTEXT = K + K * K
_CROSS = 2 * K + K * K


_TABLE_BITS = 15
_G1 = np.uint64(0x9E3779B97F4A7C15)
_G2 = np.uint64(0xC2B2AE3D27D4EB4F)
_SHIFT = np.uint64(64 - _TABLE_BITS)


def _slots(keys: np.ndarray, multiplier: np.uint64) -> np.ndarray:
    return ((keys * multiplier) >> _SHIFT).astype(np.intp)  # uint64 arrays wrap silently


def _phrase_masks() -> dict[int, int]:
    """Each lexicon phrase's hash -> the bitmask of the concepts it belongs to."""
    masks: dict[int, int] = {}
    for bit, name in enumerate(NAMES):
        for phrase in CONCEPTS[name]:
            normalized = normalize(phrase)
            if normalized:
                key = phrase_hash(normalized)
                masks[key] = masks.get(key, 0) | (1 << bit)
    return masks


# Also the lookup of `concept_mask_of_runs` (short texts, hashed in Python).
PHRASE_MASKS: dict[int, int] = _phrase_masks()


def _tables() -> tuple[np.ndarray, ...]:
    """Two hash tables (two-choice insertion) and a sorted overflow list: lookups are two
    gathers, not a search."""
    masks = PHRASE_MASKS
    size = 1 << _TABLE_BITS
    keys = [np.zeros(size, dtype=np.uint64), np.zeros(size, dtype=np.uint64)]
    values = [np.zeros(size, dtype=np.uint64), np.zeros(size, dtype=np.uint64)]
    used = [np.zeros(size, dtype=bool), np.zeros(size, dtype=bool)]
    overflow: list[int] = []
    for key in sorted(masks):
        k = np.array([key], dtype=np.uint64)
        for t, multiplier in enumerate((_G1, _G2)):
            slot = int(_slots(k, multiplier)[0])
            if not used[t][slot]:
                used[t][slot], keys[t][slot], values[t][slot] = True, key, masks[key]
                break
        else:
            overflow.append(key)
    over_keys = np.array(overflow, dtype=np.uint64)
    over_values = np.array([masks[k] for k in overflow], dtype=np.uint64)
    return keys[0], values[0], keys[1], values[1], over_keys, over_values


_K1, _V1, _K2, _V2, _OVER_KEYS, _OVER_VALUES = _tables()


def concept_mask(run_hashes: np.ndarray) -> int:
    """The concepts whose phrases occur among `run_hashes` (as a bitmask over `NAMES`)."""
    if run_hashes.shape[0] == 0:
        return 0
    mask = 0
    for keys, values, multiplier in ((_K1, _V1, _G1), (_K2, _V2, _G2)):
        slots = _slots(run_hashes, multiplier)
        hit = keys[slots] == run_hashes
        if hit.any():
            mask |= int(np.bitwise_or.reduce(values[slots[hit]]))
    if _OVER_KEYS.shape[0]:
        at = np.searchsorted(_OVER_KEYS, run_hashes).clip(0, _OVER_KEYS.shape[0] - 1)
        hit = _OVER_KEYS[at] == run_hashes
        if hit.any():
            mask |= int(np.bitwise_or.reduce(_OVER_VALUES[at[hit]]))
    return mask


def concept_mask_of_runs(run_hashes: list[int]) -> int:
    """`concept_mask` for run hashes held as Python ints (the same bitmask)."""
    mask = 0
    get = PHRASE_MASKS.get
    for h in run_hashes:
        mask |= get(h, 0)
    return mask


def bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def concept_feature_lists(newest: int, context: int) -> tuple[list[int], ...]:
    """Offsets (from the start of the concept block) of the four feature groups, in a fixed
    order (the dot product sums them in it). Plain lists: a message has a few concepts, and
    building grids with numpy cost more than the lists."""
    a, c = bits(newest), bits(context)
    pairs = [_SELF_PAIRS + i * K + j for i in a for j in a if i <= j]
    cross = [_CROSS + i * K + j for i in a for j in c]
    return a, pairs, [_CONTEXT + j for j in c], cross


def names(mask: int) -> list[str]:
    return [NAMES[i] for i in bits(mask)]
