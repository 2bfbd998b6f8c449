"""Training the second stage (`semantic`) on the first stage's out-of-fold scores.

1. Every row's newest message and context turns are embedded (normalised text, one at a time,
   exactly as at inference).
2. One logistic head per `HEADS` entry on [newest embedding, mean context embedding], the same
   weighted loss as the first stage (`training`), L-BFGS, einsum products (no BLAS threads).
3. Out of fold (the first stage's fold assignments, every repeat): the first stage's calibrated
   logits z1 (from `training.train_with_folds` and its tuned thresholds) and the second
   stage's z2; the repeats are pooled for what follows.
4. The gate, one value for the crisis heads and one for the harmful heads: the highest quarter
   logit (at most `gate_max`) such that `coverage` of the crisis rows have a crisis head's z1 at
   or over it (`harmful_coverage` of the harmful-request rows, for the harmful heads). A row
   with no head at or over its gate keeps the first stage's verdict.
5. For each (alpha crisis, alpha harmful) on a grid (by default one point), the blend
   alpha * z1 + (1 - alpha) * z2 on the rows over the gate (the others keep the first stage's
   flags) gets thresholds from the same tuning as the first stage (`training.tune`, with the
   crisis budget `crisis_fpr`); the pair with the best out-of-fold crisis recall, then harmful
   recall, wins (ties: closer to an even blend).
6. The final heads are fitted on all rows; `shift` is the logit of the chosen thresholds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from emmaus.engine.safety.classifier import HEADS, combine_heads, logit
from emmaus.engine.safety.dataset import Row
from emmaus.engine.safety.encoding import context_turns
from emmaus.engine.safety.normalize import normalize
from emmaus.engine.safety.optim import dot, lbfgs
from emmaus.engine.safety.semantic import DIM, SemanticModel, SentenceCache
from emmaus.engine.safety.training import OutOfFold, TrainConfig, cv_summary, labels_matrix, tune
from emmaus.engine.safety.verdict import CRISIS_CATEGORIES

_CRISIS_HEADS = np.array([h in CRISIS_CATEGORIES or h == "crisis_any" for h in HEADS])


@dataclass(frozen=True, slots=True)
class SemanticConfig:
    l2: float = 3e-4
    pos_weight_cap: float = 8.0
    maxiter: int = 300
    # The blend's weight on the first stage. A grid is searched when it has several values;
    # cross-validation within one author's data favours the lexical stage, which generalises
    # worse to other writers, so it is chosen on a split the models did not train on: an even
    # blend on the first held-out and blind splits; 0.65 on heldout_v3 (same crisis recall as
    # 0.5, 3 false positives fewer of 163; docs/safety.md).
    alphas: tuple[float, ...] = (0.65,)
    # False-positive budget of the blend's crisis thresholds, on the benign rows out of fold.
    # Chosen across authors (docs/safety.md): of 0.04 to 0.08, the largest whose models trained
    # without one author's split (held-out, or blind) kept that split's false-positive rate
    # within 5%, both ways.
    crisis_fpr: float = 0.05
    # Rows with a crisis / a harmful label (out of fold) the gate must let through. Everyday
    # text comes nearest to the thresholds on the harmful heads (they are low), so a gate that
    # let 99% of harmful rows through would embed a third of everyday messages; at 90%, about
    # one in six. Crisis recall is the same either way on dev.
    coverage: float = 0.99
    harmful_coverage: float = 0.9
    gate_max: float = -1.0

    def to_json(self) -> dict[str, object]:
        return {
            "l2": self.l2,
            "pos_weight_cap": self.pos_weight_cap,
            "maxiter": self.maxiter,
            "alphas": list(self.alphas),
            "crisis_fpr": self.crisis_fpr,
            "coverage": self.coverage,
            "harmful_coverage": self.harmful_coverage,
            "gate_max": self.gate_max,
        }


def embed_rows(rows: Sequence[Row], cache: SentenceCache) -> np.ndarray:
    """(rows, 2 * DIM): newest-message embedding, then the mean of the context turns'."""
    x = np.zeros((len(rows), 2 * DIM), dtype=np.float64)
    for i, row in enumerate(rows):
        x[i, :DIM] = cache.embed(normalize(row.text) or " ")
        x[i, DIM:] = cache.context(context_turns(row.context))
    return x


def fit_heads(
    x: np.ndarray, y: np.ndarray, config: SemanticConfig
) -> tuple[np.ndarray, np.ndarray]:
    """(weights (2 * DIM, heads), bias (heads,)) of one logistic head per column of `y`."""
    n, d = x.shape
    weights = np.zeros((d, y.shape[1]))
    bias = np.zeros(y.shape[1])
    for j in range(y.shape[1]):
        target = y[:, j]
        positives = float(target.sum())
        if positives == 0:
            bias[j] = -8.0
            continue
        s = np.where(
            target > 0, min(config.pos_weight_cap, max(1.0, (n - positives) / positives)), 1.0
        )
        s /= s.sum()
        sign = 2.0 * target - 1.0

        def loss(
            theta: np.ndarray, s: np.ndarray = s, sign: np.ndarray = sign
        ) -> tuple[float, np.ndarray]:
            w, b = theta[:-1], theta[-1]
            margin = sign * (np.einsum("ij,j->i", x, w) + b)
            value = dot(s, np.logaddexp(0.0, -margin)) + 0.5 * config.l2 * dot(w, w)
            r = -s * sign / (1.0 + np.exp(margin))
            grad = np.empty_like(theta)
            grad[:-1] = np.einsum("ij,i->j", x, r) + config.l2 * w
            grad[-1] = r.sum()
            return value, grad

        theta = lbfgs(loss, np.zeros(d + 1), maxiter=config.maxiter)
        weights[:, j] = theta[:-1]
        bias[j] = theta[-1]
    return weights.astype(np.float32).astype(np.float64), bias


def _logits(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    return np.einsum("ij,jk->ik", x, weights) + bias


def out_of_fold(
    x: np.ndarray, y: np.ndarray, fold_of: np.ndarray, config: SemanticConfig
) -> np.ndarray:
    """Second-stage logits of every row by heads fitted without its fold."""
    z = np.zeros((x.shape[0], y.shape[1]))
    for fold in np.unique(fold_of):
        held, kept = fold_of == fold, fold_of != fold
        weights, bias = fit_heads(x[kept], y[kept], config)
        z[held] = _logits(x[held], weights, bias)
    return z


def _gate(u: np.ndarray, labelled: np.ndarray, coverage: float, config: SemanticConfig) -> float:
    """The highest quarter logit under which at most 1 - `coverage` of the labelled rows' `u`
    falls (at most `gate_max`)."""
    if not labelled.any():
        return config.gate_max
    q = float(np.quantile(u[labelled], 1.0 - coverage))
    return float(min(config.gate_max, np.floor(q * 4.0) / 4.0))


def _blend(z1: np.ndarray, z2: np.ndarray, alpha: np.ndarray, over: np.ndarray) -> np.ndarray:
    z = alpha * z1 + (1.0 - alpha) * z2
    z[~over] = -30.0  # under the gate: the first stage's verdict, no model flag
    return 1.0 / (1.0 + np.exp(-z))


def train_semantic(
    rows: Sequence[Row],
    folds: OutOfFold,
    first_thresholds: dict[str, float],
    cache: SentenceCache,
    train_config: TrainConfig | None = None,
    config: SemanticConfig | None = None,
) -> SemanticModel:
    """The second stage, from the first stage's out-of-fold scores (`folds`, every repeat) and
    tuned thresholds; the same fold assignments."""
    train_config = train_config or TrainConfig()
    config = config or SemanticConfig()
    tune_config = replace(train_config, crisis_fpr=config.crisis_fpr)
    x = embed_rows(rows, cache)
    y1 = labels_matrix(rows)
    z2 = np.concatenate([out_of_fold(x, y1, f, config) for f in folds.fold_of])
    flags, y, ordinary = folds.flags, folds.y, folds.ordinary
    p1 = np.clip(folds.p, 1e-9, 1 - 1e-9)
    z1 = np.log(p1 / (1 - p1)) - np.array([logit(first_thresholds[h]) for h in HEADS])
    labelled = (y[:, :10] > 0).any(axis=1)
    gate = np.zeros(len(HEADS))
    for heads, truth, coverage in (
        (_CRISIS_HEADS, y[:, :4] > 0, config.coverage),
        (~_CRISIS_HEADS, y[:, 4:10] > 0, config.harmful_coverage),
    ):
        u = z1[:, heads].max(axis=1)
        gate[heads] = _gate(u, truth.any(axis=1), coverage, config)
    over = (z1 >= gate).any(axis=1)
    # Under the gate the first stage decides alone: its flags count whatever the blend's
    # thresholds (tuning sees exactly what inference will do).
    first = np.array([combine_heads(row) for row in 1.0 / (1.0 + np.exp(-z1))]) >= 0.5
    flags = flags | (first & ~over[:, None])
    best: tuple[tuple[float, float, float], np.ndarray, dict[str, float]] | None = None
    for a_crisis in config.alphas:
        for a_harmful in config.alphas:
            alpha = np.where(_CRISIS_HEADS, a_crisis, a_harmful)
            p = _blend(z1, z2, alpha, over)
            thresholds = tune(p, flags, y, tune_config, ordinary)
            summary = cv_summary(p, flags, y, thresholds)
            key = (
                summary["crisis_any"]["recall"],
                summary["harmful_any"]["recall"],
                -abs(a_crisis - 0.5) - abs(a_harmful - 0.5),
            )
            if best is None or key > best[0]:
                best = (key, alpha, thresholds)
    assert best is not None
    _, alpha, thresholds = best
    p = _blend(z1, z2, alpha, over)
    weights, bias = fit_heads(x, y1, config)
    meta = {
        "trained_on": len(rows),
        "thresholds": thresholds,
        "gate": {
            "crisis": float(gate[_CRISIS_HEADS][0]),
            "harmful": float(gate[~_CRISIS_HEADS][0]),
        },
        "alpha": {
            "crisis": float(alpha[_CRISIS_HEADS][0]),
            "harmful": float(alpha[~_CRISIS_HEADS][0]),
        },
        "gate_share": {
            "labelled": round(float(over[labelled].mean()), 4),
            "benign": round(float(over[~labelled & ~ordinary].mean()), 4)
            if (~labelled & ~ordinary).any()
            else 0.0,
            "everyday": round(float(over[ordinary].mean()), 4) if ordinary.any() else 0.0,
        },
        "cross_validation": cv_summary(p, flags, y, thresholds),
        "config": config.to_json(),
        "embedder": "all-MiniLM-L6-v2-onnx-int8, mean pooling, normalised text",
    }
    shift = np.array([logit(thresholds[h]) for h in HEADS])
    return SemanticModel(
        HEADS, weights.astype(np.float32), bias, alpha.astype(np.float64), shift, gate, meta
    )
