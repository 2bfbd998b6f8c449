"""Training the tier model: features → compact sparse matrix → L2-regularised multinomial logistic
regression (numpy L-BFGS). Out-of-fold probabilities from k-fold cross-validation calibrate a
temperature, folded into the shipped weights. Everything is deterministic: the same rows give a
byte-identical artifact (folds come from a hash of the row id, never from a random generator)."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from emmaus.engine.routing.augment import augment, source_id
from emmaus.engine.routing.baselines import tier_ratio, tune_word_count
from emmaus.engine.routing.data import LabelledRow
from emmaus.engine.routing.features import NAMED, SHAPE, FeatureConfig, Prior, extract
from emmaus.engine.routing.model import DEFAULT_THRESHOLDS, TierModel, softmax
from emmaus.engine.routing.optimizer import lbfgs


@dataclass(frozen=True, slots=True)
class Hyper:
    l2: float = 3e-4  # on the mean cross-entropy
    named_l2_scale: float = 0.3  # the named features are few and meaningful: less shrinkage
    shape_l2_scale: float = 1.0  # length / question-mark / turn-count features
    balance: bool = True  # weight classes to equal total weight
    folds: int = 5
    max_iter: int = 400
    stacked: bool = True  # score earlier user turns with a first-stage model
    augment: float = 0.3  # share of tier 2/3 rows given synthetic thank-you / go-on turns
    features: FeatureConfig = field(default_factory=FeatureConfig)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["features"] = self.features.to_dict()
        return data


@dataclass(slots=True)
class Sparse:
    """Rows of a compact CSR matrix; `columns[k]` is the feature index of compact column k."""

    indptr: np.ndarray
    cols: np.ndarray
    data: np.ndarray
    row_of: np.ndarray
    columns: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.indptr) - 1, len(self.columns)

    def dot(self, weights: np.ndarray) -> np.ndarray:
        """X @ W for W of shape (columns, k)."""
        gathered = weights[self.cols] * self.data[:, None]
        return np.add.reduceat(gathered, self.indptr[:-1], axis=0)

    def tdot(self, grad: np.ndarray) -> np.ndarray:
        """X.T @ G for G of shape (rows, k)."""
        per = grad[self.row_of]
        width = len(self.columns)
        return np.stack(
            [np.bincount(self.cols, self.data * per[:, k], minlength=width)
             for k in range(grad.shape[1])], axis=1,
        )  # fmt: skip


def featurize(
    rows: Sequence[LabelledRow], config: FeatureConfig, prior: Prior | None = None
) -> list[dict[int, float]]:
    return [extract(row.messages, config, prior).values for row in rows]


def to_sparse(vectors: Sequence[dict[int, float]], columns: np.ndarray | None = None) -> Sparse:
    if columns is None:
        columns = np.asarray(sorted({i for v in vectors for i in v}), dtype=np.intp)
    position = {int(c): k for k, c in enumerate(columns)}
    indptr, cols, data, row_of = [0], [], [], []
    for r, vector in enumerate(vectors):
        for index in sorted(vector):
            k = position.get(index)
            if k is not None:
                cols.append(k)
                data.append(vector[index])
                row_of.append(r)
        if len(cols) == indptr[-1]:  # an empty row would break reduceat: give it a zero entry
            cols.append(0)
            data.append(0.0)
            row_of.append(r)
        indptr.append(len(cols))
    return Sparse(
        np.asarray(indptr, dtype=np.intp),
        np.asarray(cols, dtype=np.intp),
        np.asarray(data, dtype=np.float64),
        np.asarray(row_of, dtype=np.intp),
        columns,
    )


def fit(matrix: Sparse, tiers: np.ndarray, hyper: Hyper) -> tuple[np.ndarray, np.ndarray]:
    """Weights (compact columns x 3) and bias minimising weighted cross-entropy + L2."""
    n, width = matrix.shape
    targets = np.zeros((n, 3))
    targets[np.arange(n), tiers - 1] = 1.0
    if hyper.balance:
        per_class = np.maximum(targets.sum(axis=0), 1.0)
        sample = (targets @ (n / (3.0 * per_class))).astype(np.float64)
    else:
        sample = np.ones(n)
    sample /= sample.sum()
    reg = np.full(width, hyper.l2)
    reg[matrix.columns < len(NAMED)] *= hyper.named_l2_scale
    reg[np.isin(matrix.columns, SHAPE)] = hyper.l2 * hyper.shape_l2_scale

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        weights = theta[: width * 3].reshape(width, 3)
        bias = theta[width * 3 :]
        logits = matrix.dot(weights) + bias
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_p = logits - log_norm
        loss = -float(sample @ (log_p * targets).sum(axis=1))
        loss += 0.5 * float(reg @ (weights * weights).sum(axis=1))
        delta = (np.exp(log_p) - targets) * sample[:, None]
        grad_w = matrix.tdot(delta) + reg[:, None] * weights
        return loss, np.concatenate([grad_w.ravel(), delta.sum(axis=0)])

    theta = lbfgs(objective, np.zeros(width * 3 + 3), max_iter=hyper.max_iter)
    return theta[: width * 3].reshape(width, 3), theta[width * 3 :]


def fold_of(row: LabelledRow, folds: int) -> int:
    """A row's fold, from its id (an augmented row goes with the row it was made from)."""
    return zlib.crc32(source_id(row.id).encode()) % folds


def out_of_fold_logits(
    rows: Sequence[LabelledRow], vectors: Sequence[dict[int, float]], hyper: Hyper
) -> np.ndarray:
    tiers = np.asarray([r.tier for r in rows])
    logits = np.zeros((len(rows), 3))
    assignment = np.asarray([fold_of(r, hyper.folds) for r in rows])
    for fold in range(hyper.folds):
        held = np.flatnonzero(assignment == fold)
        kept = np.flatnonzero(assignment != fold)
        if not len(held) or not len(kept):
            continue
        matrix = to_sparse([vectors[i] for i in kept])
        weights, bias = fit(matrix, tiers[kept], hyper)
        test = to_sparse([vectors[i] for i in held], matrix.columns)
        logits[held] = test.dot(weights) + bias
    return logits


def fit_temperature(logits: np.ndarray, tiers: np.ndarray) -> float:
    """The temperature minimising the log-loss of `logits / T` (golden section on log T)."""

    def nll(log_t: float) -> float:
        p = softmax(logits / np.exp(log_t))
        return -float(np.mean(np.log(np.maximum(p[np.arange(len(tiers)), tiers - 1], 1e-12))))

    lo, hi = np.log(0.2), np.log(5.0)
    ratio = (np.sqrt(5.0) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(a), nll(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(b)
    return float(np.exp((lo + hi) / 2))


def _multi_turn(row: LabelledRow) -> bool:
    return sum(1 for m in row.messages if m.role == "user") > 1


def data_digest(rows: Sequence[LabelledRow]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.id}\x00{row.tier}\x00".encode())
        for message in row.messages:
            digest.update(f"{message.role}\x00{message.content or ''}\x00".encode())
    return digest.hexdigest()[:16]


def stacked_vectors(
    rows: Sequence[LabelledRow], hyper: Hyper
) -> tuple[list[dict[int, float]], np.ndarray]:
    """Feature vectors of `rows` (earlier user turns scored by a first-stage model) and tiers."""
    config = hyper.features
    tiers = np.asarray([r.tier for r in rows])
    vectors = featurize(rows, config)
    if hyper.stacked and any(_multi_turn(r) for r in rows):
        # Stage 1 scores earlier user turns on their own; stage 2 learns from those scores.
        stage = to_sparse(vectors)
        compact, bias = fit(stage, tiers, hyper)
        weights = np.zeros((config.dimension, 3))
        weights[stage.columns] = compact
        first = TierModel(weights, bias, config)
        vectors = [extract(r.messages, config, first.prior).values if _multi_turn(r) else v
                   for r, v in zip(rows, vectors, strict=True)]  # fmt: skip
    return vectors, tiers


def train(rows: Sequence[LabelledRow], hyper: Hyper | None = None) -> TierModel:
    hyper = hyper or Hyper()
    if len({r.tier for r in rows}) < 2:
        raise ValueError("training needs rows of at least two tiers")
    config = hyper.features
    real = list(rows)
    extra = augment(real, hyper.augment) if hyper.augment > 0 else []
    everything = real + extra
    vectors, tiers = stacked_vectors(everything, hyper)
    temperature, cv = 1.0, {}
    if hyper.folds >= 2 and len(real) >= 5 * hyper.folds:
        # Scored on the real rows only; augmented rows only ever train.
        oof = out_of_fold_logits(everything, vectors, hyper)[: len(real)]
        labels = tiers[: len(real)]
        temperature = fit_temperature(oof, labels)
        probs = softmax(oof / temperature)
        picked = probs[np.arange(len(labels)), labels - 1]
        cv = {"accuracy": round(float(np.mean(probs.argmax(axis=1) + 1 == labels)), 4),
              "log_loss": round(-float(np.mean(np.log(picked))), 4)}  # fmt: skip
    matrix = to_sparse(vectors)
    compact, bias = fit(matrix, tiers, hyper)
    weights = np.zeros((config.dimension, 3))
    weights[matrix.columns] = compact / temperature
    rule = tune_word_count(real)
    real_tiers = tiers[: len(real)]
    meta = {
        "rows": len(real),
        "augmented_rows": len(extra),
        "data_sha256": data_digest(real),
        "tier_counts": [int(np.sum(real_tiers == t)) for t in (1, 2, 3)],
        "tier_ratio": [round(x, 6) for x in tier_ratio(real)],
        "hyper": hyper.to_dict(),
        "temperature": round(temperature, 6),
        "cross_validation": cv,
        "word_count_rule": [rule.low, rule.high],
    }
    return TierModel(weights, bias / temperature, config, dict(DEFAULT_THRESHOLDS), meta)
