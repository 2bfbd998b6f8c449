"""The second stage: sentence embeddings and a linear head per category, for uncertain inputs.

The first stage (`classifier`, hashed n-grams, concepts, patterns) is fast but lexical: it misses
a crisis told in words it has not seen ("im on the overpass rn", a veiled farewell). The second
stage reads the message as a sentence: all-MiniLM-L6-v2 (int8 ONNX, the files the grounding
embedder loads from installed packages, nothing downloaded), mean-pooled and unit-length, 384
numbers for the newest message and 384 for the mean of its context turns, then one logistic head
per category (`HEADS`). Its logit z2 is blended with the first stage's calibrated logit z1:

    z = alpha * z1 + (1 - alpha) * z2 - shift

where `alpha` (one for the crisis heads, one for the harmful heads) and `shift` (the logit of
the blended thresholds, so that 0.5 is the tuned operating point again) come from
cross-validation (`semantic_training`).

An embedding costs milliseconds, not microseconds, so the stage runs only when it can change the
outcome: when some head's first-stage calibrated logit is at least that head's `gate` (set in
cross-validation so that 99% of the crisis rows and 95% of the harmful-request rows are over
it; most everyday messages are far under it and keep the first stage's verdict, with no
embedding made). Embeddings of
context turns are cached: in a conversation, each turn is embedded at most once.

If the embedding packages are missing, the layer runs on the first stage alone (a warning is
logged once)."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from emmaus.engine.safety.artifact import write_npz
from emmaus.grounding.embedder import Embedder, EmbedderUnavailable, model_files

DEFAULT_PATH = Path(__file__).with_name("semantic.npz")
FORMAT = 1
DIM = 384
MAX_TOKENS = 128  # of the newest message (and of each context turn) the second stage reads
_CACHE = 2048

log = logging.getLogger(__name__)


class TextEmbedder(Protocol):
    def embed_one(self, text: str) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class SemanticModel:
    """`weights` (2 * DIM, heads): rows [0, DIM) read the newest message's embedding, rows
    [DIM, 2 * DIM) the mean of the context turns' embeddings. `alpha`, `shift`: per head."""

    heads: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    alpha: np.ndarray
    shift: np.ndarray
    gate: np.ndarray  # per head: the first-stage calibrated logit that opens the gate
    meta: dict[str, Any]

    def gated(self, z1: np.ndarray) -> bool:
        """Whether the second stage runs for first-stage calibrated logits `z1`: when any head
        is at or over its gate."""
        return bool(np.any(z1 >= self.gate))

    def stage_logits(self, newest: np.ndarray, context: np.ndarray) -> np.ndarray:
        """The second stage's own logits (before blending). Einsum, not BLAS: the same sums on
        every machine, whatever the thread count."""
        w = self.weights
        z = np.einsum("i,ij->j", newest, w[:DIM]) + np.einsum("i,ij->j", context, w[DIM:])
        return z.astype(np.float64) + self.bias

    def blend(self, z1: np.ndarray, newest: np.ndarray, context: np.ndarray) -> np.ndarray:
        return (
            self.alpha * z1 + (1.0 - self.alpha) * self.stage_logits(newest, context) - self.shift
        )


def save(model: SemanticModel, path: Path) -> None:
    """Deterministic bytes, as `artifact.save`."""
    meta = dict(model.meta, format=FORMAT, heads=list(model.heads))
    arrays = {
        "weights": model.weights.astype(np.float32),
        "bias": model.bias.astype(np.float64),
        "alpha": model.alpha.astype(np.float64),
        "shift": model.shift.astype(np.float64),
        "gate": model.gate.astype(np.float64),
        "meta": np.frombuffer(
            json.dumps(meta, sort_keys=True, separators=(",", ":")).encode(), dtype=np.uint8
        ),
    }
    write_npz(arrays, path)


def load(path: Path = DEFAULT_PATH) -> SemanticModel:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown semantic model format {meta.get('format')!r}")
        weights = data["weights"].astype(np.float32)
        bias, alpha, shift, gate = (
            data[k].astype(np.float64) for k in ("bias", "alpha", "shift", "gate")
        )
    heads = tuple(meta["heads"])
    if weights.shape != (2 * DIM, len(heads)) or gate.shape != (len(heads),):
        raise ValueError(f"{path}: weights of shape {weights.shape} do not match")
    return SemanticModel(heads, weights, bias, alpha, shift, gate, meta)


class SentenceCache:
    """Embeddings of normalised texts by an embedder, the most recent `_CACHE` kept."""

    def __init__(self, embedder: TextEmbedder) -> None:
        self.embedder = embedder
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, normalized: str) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(normalized)
        if hit is not None:
            return hit
        vector = np.asarray(self.embedder.embed_one(normalized), dtype=np.float32)
        with self._lock:
            if len(self._cache) >= _CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[normalized] = vector
        return vector

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def context(self, turns: tuple[str, ...]) -> np.ndarray:
        """The mean embedding of the context turns (zeros for none)."""
        if not turns:
            return np.zeros(DIM, dtype=np.float32)
        return np.mean([self.embed(t) for t in turns], axis=0).astype(np.float32)


_shared: SentenceCache | None = None
_shared_lock = threading.Lock()


def shared_embedder() -> SentenceCache | None:
    """The process's MiniLM embedder (one thread, loaded on first use), or None when the
    packages that hold its files are not installed."""
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                model_files()
            except EmbedderUnavailable as exc:
                log.warning("safety: second stage off, no sentence embedder (%s)", exc)
                return None
            _shared = SentenceCache(TruncatingEmbedder(threads=1, batch_size=1))
        return _shared


class TruncatingEmbedder(Embedder):
    """The grounding embedder, reading at most `MAX_TOKENS` tokens (the first ones): the cost of
    an embedding grows with its length, and the first stage reads all of a long message."""

    _truncated = False

    def _load(self) -> tuple[object, object]:
        session, tokenizer = super()._load()
        if not self._truncated:
            tokenizer.enable_truncation(MAX_TOKENS)  # type: ignore[attr-defined]
            self._truncated = True
        return session, tokenizer


_warming = threading.Event()


def warm_up_in_background() -> None:
    """Load the embedding model in a thread (about 0.3 s), once per process, so that the first
    uncertain message does not wait for it. Not a daemon: a process that exits at once (a CLI
    command refused early) waits for the load, since onnxruntime torn down mid-load aborts the
    interpreter ("terminate called without an active exception")."""
    cache = shared_embedder()
    if cache is None or _warming.is_set():
        return
    _warming.set()
    warm = getattr(cache.embedder, "warm_up", None)
    if warm is not None:
        threading.Thread(target=warm, name="safety-embedder-warm-up", daemon=False).start()
