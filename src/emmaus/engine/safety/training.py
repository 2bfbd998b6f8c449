"""Training: one-vs-rest weighted logistic regression over the features, deterministic.

Twelve heads: the ten categories, plus "crisis_any" and "harmful_any" trained on the union of
their group's labels. Per head, with y the 0/1 labels, the loss minimised (L-BFGS, `optim`) is

    sum_i s_i * log(1 + exp(-(2y_i - 1) * (x_i . w + b))) / sum_i s_i + l2 / 2 * |w|^2

where s_i = min(pos_weight_cap, negatives / positives) for positive rows and 1 otherwise. Only
the feature columns seen in training are optimised (the rest stay 0).

Thresholds come from `folds`-fold cross-validation on the same rows, repeated `repeats` times
with other fold assignments: every row is scored by a model that did not see it, then, pooling
the repeats, on those out-of-fold scores, (1) each category gets the
threshold that maximises its F1 (a pattern match counts as flagged whatever the threshold), and
(2) each group head gets the lowest threshold that keeps the group's false-positive rate on
benign rows within `crisis_fpr` / `harmful_fpr` (with the category thresholds and patterns
counted). The final model is fitted on all rows and its biases shifted by -logit(threshold), so
its 0.5 is the tuned operating point. Nothing depends on time, hash seeds or thread counts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emmaus.engine.safety import artifact
from emmaus.engine.safety.classifier import HEADS, SafetyClassifier, combine_heads, logit
from emmaus.engine.safety.dataset import ORDINARY, Row
from emmaus.engine.safety.encoding import context_turns, encode, input_dim
from emmaus.engine.safety.features import FeatureSpec
from emmaus.engine.safety.normalize import normalize
from emmaus.engine.safety.optim import Sparse, dot, lbfgs
from emmaus.engine.safety.verdict import CATEGORIES, CRISIS_CATEGORIES, HARMFUL_CATEGORIES


@dataclass(frozen=True, slots=True)
class TrainConfig:
    spec: FeatureSpec = field(default_factory=FeatureSpec)
    l2: float = 3e-5
    pos_weight_cap: float = 8.0
    context_weight: float = 0.6
    guard_damp: float = 1.0
    context_floor: float = 0.75
    output_margin: float = 1.0
    maxiter: int = 200
    nb_alpha: float = 0.0  # > 0: naive-Bayes log-count-ratio feature scaling (NBSVM)
    folds: int = 4
    repeats: int = 3  # cross-validation repeats (other fold assignments), pooled for tuning
    crisis_fpr: float = 0.04
    harmful_fpr: float = 0.03
    ordinary_fpr: float = 0.01  # everyday requests flagged (of any kind), at most

    def to_json(self) -> dict[str, object]:
        return {
            "l2": self.l2,
            "pos_weight_cap": self.pos_weight_cap,
            "context_weight": self.context_weight,
            "guard_damp": self.guard_damp,
            "context_floor": self.context_floor,
            "output_margin": self.output_margin,
            "maxiter": self.maxiter,
            "nb_alpha": self.nb_alpha,
            "folds": self.folds,
            "repeats": self.repeats,
            "crisis_fpr": self.crisis_fpr,
            "harmful_fpr": self.harmful_fpr,
        }


def labels_matrix(rows: Sequence[Row]) -> np.ndarray:
    """(rows, 12) 0/1 labels in `HEADS` order."""
    y = np.array([[c in r.labels for c in CATEGORIES] for r in rows], dtype=np.float64)
    y = y.reshape(len(rows), len(CATEGORIES))
    crisis = y[:, [CATEGORIES.index(c) for c in CRISIS_CATEGORIES]].any(axis=1)
    harmful = y[:, [CATEGORIES.index(c) for c in HARMFUL_CATEGORIES]].any(axis=1)
    return np.column_stack([y, crisis, harmful]).astype(np.float64)


def design_matrix(rows: Sequence[Row], spec: FeatureSpec, context_weight: float) -> Sparse:
    row_ids: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    for i, row in enumerate(rows):
        idx, val = encode(normalize(row.text), context_turns(row.context), spec, context_weight)
        row_ids.append(np.full(idx.shape[0], i, dtype=np.intp))
        indices.append(idx)
        values.append(val.astype(np.float64))
    return Sparse.from_triplets(
        np.concatenate(row_ids),
        np.concatenate(indices),
        np.concatenate(values),
        (len(rows), input_dim(spec)),
    )


def _fit_one(x: Sparse, y: np.ndarray, config: TrainConfig) -> tuple[np.ndarray, float]:
    positives = float(y.sum())
    if positives == 0:
        return np.zeros(x.shape[1]), -8.0
    negatives = y.shape[0] - positives
    scale = None
    if config.nb_alpha > 0:
        present = (y[x.rows] > 0).astype(np.float64)
        pos = np.bincount(x.cols, weights=present, minlength=x.shape[1]) + config.nb_alpha
        neg = np.bincount(x.cols, weights=1.0 - present, minlength=x.shape[1]) + config.nb_alpha
        scale = np.abs(np.log((pos / pos.sum()) / (neg / neg.sum())))
        x = Sparse(x.rows, x.cols, x.data * scale[x.cols], x.shape)
    s = np.where(y > 0, min(config.pos_weight_cap, max(1.0, negatives / positives)), 1.0)
    s /= s.sum()
    sign = 2.0 * y - 1.0
    l2 = config.l2

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = theta[:-1], theta[-1]
        margin = sign * (x.matvec(w) + b)
        value = dot(s, np.logaddexp(0.0, -margin)) + 0.5 * l2 * dot(w, w)
        r = -s * sign / (1.0 + np.exp(margin))  # d loss / d z
        grad = np.empty_like(theta)
        grad[:-1] = x.rmatvec(r) + l2 * w
        grad[-1] = r.sum()
        return value, grad

    theta = lbfgs(loss, np.zeros(x.shape[1] + 1), maxiter=config.maxiter)
    w = theta[:-1] if scale is None else theta[:-1] * scale
    return w, float(theta[-1])


def fit(rows: Sequence[Row], config: TrainConfig) -> artifact.Model:
    """The raw model (biases not yet shifted to tuned thresholds)."""
    spec = config.spec
    x, used = design_matrix(rows, spec, config.context_weight).compact_columns()
    y = labels_matrix(rows)
    weights = np.zeros((input_dim(spec), len(HEADS)), dtype=np.float32)
    bias = np.zeros(len(HEADS), dtype=np.float32)
    for j in range(len(HEADS)):
        w, b = _fit_one(x, y[:, j], config)
        weights[used, j] = w.astype(np.float32)
        bias[j] = b
    # What the artifact will hold: inference sees float16 weights.
    weights = weights.astype(np.float16).astype(np.float32)
    meta = {
        "trained_on": len(rows),
        "positives": {c: int(y[:, j].sum()) for j, c in enumerate(HEADS)},
        **config.to_json(),
    }
    return artifact.Model(spec, HEADS, weights, bias, meta)


def fold_assignments(n: int, config: TrainConfig) -> np.ndarray:
    """(repeats, n) fold of each row in each cross-validation repeat: i % folds first, then
    fixed-seed shuffles of it (the same on every machine)."""
    base = np.arange(n) % config.folds
    out = [base]
    for repeat in range(1, config.repeats):
        out.append(base[np.random.default_rng(repeat).permutation(n)])
    return np.array(out)


def out_of_fold(
    rows: Sequence[Row], config: TrainConfig, fold_of: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(head probabilities (rows, 12), pattern flags (rows, 10)), each row scored by a model
    fitted without it. Fold of row i: `fold_of[i]` (default i % folds)."""
    p = np.zeros((len(rows), len(HEADS)))
    flags = np.zeros((len(rows), len(CATEGORIES)), dtype=bool)
    if fold_of is None:
        fold_of = np.arange(len(rows)) % config.folds
    for fold in range(config.folds):
        held = np.flatnonzero(fold_of == fold)
        model = fit([rows[i] for i in np.flatnonzero(fold_of != fold)], config)
        classifier = SafetyClassifier(model)
        for i in held:
            p[i] = classifier.head_scores(rows[i].text, rows[i].context)
            floors = classifier.floors(rows[i].text, rows[i].context)
            flags[i] = [floors.get(c, 0.0) >= 0.5 for c in CATEGORIES]
    return p, flags


def _f1(flagged: np.ndarray, truth: np.ndarray) -> float:
    tp = int((flagged & truth).sum())
    denominator = int(flagged.sum()) + int(truth.sum())
    return 2 * tp / denominator if denominator else 0.0


_GRID = np.round(np.arange(0.02, 0.981, 0.01), 2)


def tune(
    p: np.ndarray,
    flags: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    ordinary: np.ndarray | None = None,
) -> dict[str, float]:
    """Thresholds of the twelve heads from out-of-fold scores (see the module docstring).
    `ordinary` marks everyday requests: they hold their own, tighter false-positive budget,
    and do not dilute the budget of the hard negatives (benign rows with crisis words)."""
    truth = y > 0
    everyday = np.zeros(len(y), dtype=bool) if ordinary is None else ordinary
    benign = ~truth[:, :10].any(axis=1) & ~everyday
    z = np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1))
    thresholds: dict[str, float] = {}
    for j, category in enumerate(CATEGORIES):
        f = np.array([_f1((p[:, j] >= t) | flags[:, j], truth[:, j]) for t in _GRID])
        best = np.flatnonzero(f >= f.max() - 1e-12)
        thresholds[category] = float(_GRID[best[len(best) // 2]])  # middle of the best run
    for head, group, target in (
        ("crisis_any", CRISIS_CATEGORIES, config.crisis_fpr),
        ("harmful_any", HARMFUL_CATEGORIES, config.harmful_fpr),
    ):
        cols = np.array([CATEGORIES.index(c) for c in group])
        j = HEADS.index(head)
        positive = truth[:, j]
        base = np.array([logit(thresholds[c]) for c in group])
        best_key: tuple[float, float] | None = None
        chosen = (0.0, 0.98)
        # Category thresholds may move up together (offset, in logits) so that the head can
        # carry recall: the (offset, head threshold) with the best group recall within the FPR
        # target wins; ties go to more rows whose most likely category is a true label.
        for offset in np.arange(0.0, 4.01, 0.25):
            cat_flag = (z[:, cols] >= base + offset) | flags[:, cols]
            top = np.argmax(z[:, cols] - base - offset, axis=1)
            top_true = truth[np.arange(len(top)), cols[top]]
            for t in _GRID:
                head_flag = z[:, j] >= logit(float(t))
                flagged = cat_flag.any(axis=1) | head_flag
                if (flagged & benign).sum() > target * benign.sum():
                    continue
                if (flagged & everyday).sum() > config.ordinary_fpr * everyday.sum():
                    continue
                recall = (flagged & positive).sum() / max(1, positive.sum())
                key = (float(recall), float((flagged & top_true).sum()))
                if best_key is None or key > best_key:
                    best_key, chosen = key, (float(offset), float(t))
                break  # a lower t only adds flags: the first t within the target is the best
        offset, t = chosen
        for c, b in zip(group, base, strict=True):
            thresholds[c] = round(1.0 / (1.0 + np.exp(-(b + offset))), 4)
        thresholds[head] = t
    return thresholds


def calibrate(model: artifact.Model, thresholds: dict[str, float]) -> artifact.Model:
    """The model with its biases shifted so that p = 0.5 is each head's tuned threshold."""
    shift = np.array([logit(thresholds[c]) for c in model.categories], dtype=np.float32)
    meta = dict(model.meta, thresholds=thresholds)
    return artifact.Model(model.spec, model.categories, model.weights, model.bias - shift, meta)


def cv_summary(
    p: np.ndarray, flags: np.ndarray, y: np.ndarray, thresholds: dict[str, float]
) -> dict[str, dict[str, float]]:
    """Out-of-fold recall and benign false-positive rate per group at `thresholds`."""
    z = np.log(np.clip(p, 1e-9, 1 - 1e-9) / np.clip(1 - p, 1e-9, 1))
    shifted = z - np.array([logit(thresholds[h]) for h in HEADS])
    scores = np.array([combine_heads(1.0 / (1.0 + np.exp(-row))) for row in shifted])
    flagged = (scores >= 0.5) | flags
    truth = y > 0
    benign = ~truth[:, :10].any(axis=1)
    summary: dict[str, dict[str, float]] = {}
    for name, group in (("crisis_any", CRISIS_CATEGORIES), ("harmful_any", HARMFUL_CATEGORIES)):
        cols = [CATEGORIES.index(c) for c in group]
        hit = flagged[:, cols].any(axis=1)
        positive = truth[:, cols].any(axis=1)
        summary[name] = {
            "recall": round(float((hit & positive).sum() / max(1, positive.sum())), 4),
            "fpr": round(float((hit & benign).sum() / max(1, benign.sum())), 4),
        }
    for j, category in enumerate(CATEGORIES):
        summary[category] = {
            "recall": round(
                float((flagged[:, j] & truth[:, j]).sum() / max(1, truth[:, j].sum())), 4
            ),
            "precision": round(
                float((flagged[:, j] & truth[:, j]).sum() / max(1, flagged[:, j].sum())), 4
            ),
        }
    return summary


@dataclass(frozen=True, slots=True)
class OutOfFold:
    """What cross-validation saw, for the second stage (`semantic_training`): head
    probabilities, pattern flags, labels and everyday-row marks, for every repeat one after the
    other (repeats * rows rows), and the fold assignments (repeats, rows)."""

    p: np.ndarray
    flags: np.ndarray
    y: np.ndarray
    ordinary: np.ndarray
    fold_of: np.ndarray


def train_with_folds(
    rows: Sequence[Row], config: TrainConfig | None = None
) -> tuple[artifact.Model, OutOfFold]:
    """Cross-validated thresholds, then the final model on all `rows`; and the out-of-fold
    scores the thresholds came from. With `repeats` > 1 the thresholds are tuned on the
    out-of-fold scores of every repeat pooled (steadier than one split's)."""
    config = config or TrainConfig()
    fold_of = fold_assignments(len(rows), config)
    parts = [out_of_fold(rows, config, f) for f in fold_of]
    p = np.concatenate([part[0] for part in parts])
    flags = np.concatenate([part[1] for part in parts])
    y = np.tile(labels_matrix(rows), (len(parts), 1))
    ordinary = np.tile(
        np.array([row.id.startswith(ORDINARY) for row in rows], dtype=bool), len(parts)
    )
    thresholds = tune(p, flags, y, config, ordinary)
    model = calibrate(fit(rows, config), thresholds)
    model.meta["cross_validation"] = cv_summary(p, flags, y, thresholds)
    return model, OutOfFold(p, flags, y, ordinary, fold_of)


def train(rows: Sequence[Row], config: TrainConfig | None = None) -> artifact.Model:
    """Cross-validated thresholds, then the final model on all `rows`."""
    return train_with_folds(rows, config)[0]
