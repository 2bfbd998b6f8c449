"""The trained model on disk: one small .npz, written byte-for-byte deterministically.

`numpy.savez` stamps each member with the current time; we write the zip ourselves with a fixed
timestamp, so the same weights always give the same file. `numpy.load` reads it as usual."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emmaus.engine.safety.encoding import input_dim
from emmaus.engine.safety.features import FeatureSpec

DEFAULT_PATH = Path(__file__).with_name("model.npz")
FORMAT = 1
_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Model:
    """A linear one-vs-rest model over hashed features.

    `weights` is (dim, categories) float32; `bias` is already shifted so that a score of 0.5 is
    the threshold tuned on the development data (see `training`). `meta` holds the feature spec,
    category order, context settings and how the model was trained."""

    spec: FeatureSpec
    categories: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    meta: dict[str, Any]


def write_npz(arrays: dict[str, np.ndarray], path: Path) -> None:
    """An .npz whose bytes depend on the arrays alone (sorted members, a fixed date), so the
    reproducibility test can compare a retrained model byte for byte."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            member = io.BytesIO()
            np.lib.format.write_array(
                member, np.ascontiguousarray(arrays[name]), allow_pickle=False
            )
            zf.writestr(info, member.getvalue(), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def save(model: Model, path: Path) -> None:
    meta = dict(model.meta)
    meta.update(format=FORMAT, spec=model.spec.to_json(), categories=list(model.categories))
    arrays = {
        "weights": model.weights.astype(np.float16),
        "bias": model.bias.astype(np.float32),
        "meta": np.frombuffer(
            json.dumps(meta, sort_keys=True, separators=(",", ":")).encode(), dtype=np.uint8
        ),
    }
    write_npz(arrays, path)


def load(path: Path = DEFAULT_PATH) -> Model:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: unknown safety model format {meta.get('format')!r}")
        weights = data["weights"].astype(np.float32)
        bias = data["bias"].astype(np.float32)
    spec = FeatureSpec.from_json(meta["spec"])
    categories = tuple(meta["categories"])
    if weights.shape != (input_dim(spec), len(categories)) or bias.shape != (len(categories),):
        raise ValueError(f"{path}: weights of shape {weights.shape} do not match the spec")
    return Model(spec=spec, categories=categories, weights=weights, bias=bias, meta=meta)
