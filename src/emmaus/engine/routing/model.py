"""The tier model: multinomial logistic regression over the sparse features, with the calibration
temperature folded into its weights. Saved as a small, deterministic JSON artifact (only non-zero
weight rows), loaded once into a dense (dimension x 3) array for numpy inference."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from emmaus.engine.routing.features import NAMED, FeatureConfig, Features, extract
from emmaus.engine.types import Message

FORMAT = "emmaus-router/1"
TIERS = (1, 2, 3)
DEFAULT_ARTIFACT = Path(__file__).with_name("router_model.json")
_DIGITS = 6  # significant digits kept in the artifact
# Preference rules: tier = 1 + [p2 + p3 >= a] + [p3 >= b]; "quality" never goes below the argmax,
# "cost" never above it (see decision.choose_tier).
DEFAULT_THRESHOLDS: dict[str, tuple[float, float]] = {"quality": (0.25, 0.3), "cost": (0.75, 0.7)}


class ArtifactError(ValueError):
    """The router artifact is unreadable or was built for other features."""


@dataclass(slots=True)
class TierModel:
    weights: np.ndarray  # (dimension, 3): row j holds feature j's weight toward tiers 1..3
    bias: np.ndarray  # (3,)
    config: FeatureConfig
    thresholds: dict[str, tuple[float, float]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def features(self, messages: Sequence[Message]) -> Features:
        """The conversation's features, earlier user turns scored by this model on their own."""
        return extract(messages, self.config, self.prior)

    def prior(self, text: str) -> tuple[np.ndarray, dict[str, int]]:
        """An earlier user turn scored on its own, with its cue counts."""
        features = extract((Message("user", text),), self.config)
        return self.probabilities(features), features.counts or {}

    def logits(self, features: Features) -> np.ndarray:
        values = features.values
        if not values:
            return self.bias.copy()
        count = len(values)
        index = np.fromiter(values.keys(), dtype=np.intp, count=count)
        weight = np.fromiter(values.values(), dtype=np.float64, count=count)
        return weight @ self.weights[index] + self.bias

    def probabilities(self, features: Features) -> np.ndarray:
        return softmax(self.logits(features))

    # ----- artifact -----

    def to_json(self) -> str:
        rows = np.flatnonzero(np.any(self.weights != 0.0, axis=1))
        named = len(NAMED)
        hashed = [int(r) for r in rows if r >= named]
        payload = {
            "format": FORMAT,
            "tiers": list(TIERS),
            "features": self.config.to_dict(),
            "named_features": list(NAMED),
            "bias": _round(self.bias),
            "named_weights": [_round(self.weights[j]) for j in range(named)],
            "hashed_index": [r - named for r in hashed],
            "hashed_weights": [_round(self.weights[r]) for r in hashed],
            "thresholds": {k: _round(np.asarray(v)) for k, v in sorted(self.thresholds.items())},
            "meta": self.meta,
        }
        return json.dumps(payload, sort_keys=True, separators=(",", ":")) + "\n"

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_json(cls, text: str, origin: str = "<artifact>") -> TierModel:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArtifactError(f"{origin}: not JSON: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ArtifactError(f"{origin}: not an {FORMAT} artifact")
        if data.get("named_features") != list(NAMED):
            raise ArtifactError(
                f"{origin}: built for another feature set; retrain it with "
                "`python -m emmaus.engine.routing.train`"
            )
        try:
            config = FeatureConfig.from_dict(data["features"])
            weights = np.zeros((config.dimension, len(TIERS)), dtype=np.float64)
            weights[: len(NAMED)] = np.asarray(data["named_weights"], dtype=np.float64)
            index = np.asarray(data["hashed_index"], dtype=np.intp) + len(NAMED)
            if index.size:
                weights[index] = np.asarray(data["hashed_weights"], dtype=np.float64)
            bias = np.asarray(data["bias"], dtype=np.float64)
            thresholds = {
                str(k): (float(v[0]), float(v[1])) for k, v in data.get("thresholds", {}).items()
            }
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ArtifactError(f"{origin}: malformed artifact: {exc}") from exc
        if bias.shape != (len(TIERS),):
            raise ArtifactError(f"{origin}: bias must hold {len(TIERS)} numbers")
        return cls(weights, bias, config, thresholds, dict(data.get("meta", {})))

    @classmethod
    def load(cls, path: str | Path | None = None) -> TierModel:
        target = Path(path) if path is not None else DEFAULT_ARTIFACT
        try:
            text = target.read_text(encoding="utf-8")
        except OSError as exc:
            raise ArtifactError(f"cannot read router artifact {target}: {exc}") from exc
        return cls.from_json(text, origin=str(target))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def _round(vector: np.ndarray) -> list[float]:
    out = []
    for value in np.asarray(vector, dtype=np.float64).ravel():
        v = float(value)
        if v == 0.0 or not math.isfinite(v):
            out.append(0.0)
        else:
            out.append(float(f"{v:.{_DIGITS}g}"))
    return out
