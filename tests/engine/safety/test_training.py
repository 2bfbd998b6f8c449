"""Training is deterministic: the same rows give a byte-identical artifact."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from emmaus.engine.safety import artifact, semantic
from emmaus.engine.safety.classifier import SafetyClassifier
from emmaus.engine.safety.dataset import read_rows
from emmaus.engine.safety.training import TrainConfig, train
from tests.engine.safety.fixtures import write_rows

DATA = Path(__file__).resolve().parents[3] / "datasets" / "safety"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tiny_training_is_byte_identical(tmp_path: Path):
    rows = read_rows(write_rows(tmp_path / "tiny.jsonl"))
    config = TrainConfig(folds=2, maxiter=60)
    for name in ("a.npz", "b.npz"):
        artifact.save(train(rows, config), tmp_path / name)
    assert _digest(tmp_path / "a.npz") == _digest(tmp_path / "b.npz")
    classifier = SafetyClassifier.load(tmp_path / "a.npz")
    assert classifier.score("i want to end my life tonight")["self_harm"] >= 0.5


def test_read_rows_skips_a_line_being_written(tmp_path: Path):
    path = write_rows(tmp_path / "rows.jsonl")
    path.write_text(path.read_text() + '{"id": "half", "text": "trunc')
    assert len(read_rows(path)) == 20


def test_unknown_label_is_an_error(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "text": "x", "labels": ["selfharm"]}\n')
    with pytest.raises(ValueError, match="unknown labels"):
        read_rows(path)


def test_shipped_artifact_is_reproducible(tmp_path: Path):
    """The full training run (under a minute): the shipped model.npz is exactly what
    `python -m emmaus.engine.safety.train` makes from datasets/safety (train.SPLITS), and
    semantic.npz is too (byte for byte on the machine that trained it; elsewhere onnxruntime's
    kernels may round the embeddings differently in the last bits, so within a tolerance)."""
    from emmaus.engine.safety.train import main

    out, second_out = tmp_path / "model.npz", tmp_path / "semantic.npz"
    args = ["--data", str(DATA), "--out", str(out), "--semantic-out", str(second_out)]
    assert main(args) == 0
    assert _digest(out) == _digest(artifact.DEFAULT_PATH), (
        "the datasets changed: retrain with python -m emmaus.engine.safety.train"
    )
    if semantic.shared_embedder() is None:
        pytest.skip("no sentence embedder installed: the second stage is not trained")
    if _digest(second_out) == _digest(semantic.DEFAULT_PATH):
        return
    made, shipped = semantic.load(second_out), semantic.load()
    assert np.array_equal(made.gate, shipped.gate)
    assert np.allclose(made.weights, shipped.weights, atol=1e-3)
    assert np.allclose(made.shift, shipped.shift, atol=0.1)
