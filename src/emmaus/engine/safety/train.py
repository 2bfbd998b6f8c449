"""Train the shipped safety models: the first stage (`model.npz`) and the second (`semantic.npz`).

    python -m emmaus.engine.safety.train [--data datasets/safety] [--out PATH]
        [--semantic-out PATH | --no-semantic]

Fits on the `SPLITS` of the safety data (train and dev, and the earlier test splits: held-out,
blind, held-out v2, v3 and v4, which were looked at during development and are dev data now), plus
everyday requests as benign rows (the routing data's train and dev conversations,
`--ordinary`), with thresholds from 4-fold cross-validation on those rows (see `training`);
then the second stage on the same rows and folds (see `semantic_training`). The test split,
`heldout_v5.jsonl`, and routing's held-out file are never read here. The same data always gives
a byte-identical `model.npz`; `semantic.npz` is byte-identical on one machine (its embeddings
come from onnxruntime, whose kernels may differ in the last bits between CPUs)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emmaus.engine.safety import artifact, semantic
from emmaus.engine.safety.dataset import Row, ordinary_rows, read_rows
from emmaus.engine.safety.training import train_with_folds

# What the shipped models learn from. `heldout`, `blind` and `heldout_v2` to `heldout_v4` were test
# splits once; their results were looked at while the method was developed, so they became dev
# data (datasets/safety/README).
SPLITS: tuple[str, ...] = (
    "train",
    "dev",
    "heldout",
    "blind",
    "heldout_v2",
    "heldout_v3",
    "heldout_v4",
)
TEST_SPLIT = "heldout_v5"
TEST_PREFIX = "h5-"


def training_rows(
    data: Path, ordinary: list[Path] | None = None, splits: tuple[str, ...] = SPLITS
) -> list[Row]:
    """The rows the shipped models learn from: `splits` of the safety data, then everyday
    conversations (default: the routing data's train and dev, next to `data`)."""
    rows: list[Row] = []
    for split in splits:
        rows += read_rows(data / f"{split}.jsonl")
    if ordinary is None:
        routing = data.parent / "routing"
        ordinary = [routing / "train.jsonl", routing / "dev.jsonl"]
    for path in ordinary:
        rows += ordinary_rows(path)
    return rows


def train_both(
    rows: list[Row], with_semantic: bool = True
) -> tuple[artifact.Model, semantic.SemanticModel | None]:
    """Both stages from `rows` (the second is None without an embedder, or when not asked)."""
    from emmaus.engine.safety.semantic_training import train_semantic

    model, folds = train_with_folds(rows)
    cache = semantic.shared_embedder() if with_semantic else None
    if cache is None:
        return model, None
    second = train_semantic(rows, folds, model.meta["thresholds"], cache)
    return model, second


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emmaus.engine.safety.train")
    parser.add_argument("--data", type=Path, default=Path("datasets/safety"))
    parser.add_argument("--out", type=Path, default=artifact.DEFAULT_PATH)
    parser.add_argument("--semantic-out", type=Path, default=semantic.DEFAULT_PATH)
    parser.add_argument("--no-semantic", action="store_true", help="train the first stage only")
    parser.add_argument(
        "--ordinary",
        type=Path,
        action="append",
        help="JSONL of everyday conversations to learn as benign (default: datasets/routing "
        "train and dev)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = training_rows(args.data, args.ordinary)
    if any(row.id.startswith(TEST_PREFIX) for row in rows):
        raise SystemExit(f"the test split ({TEST_SPLIT}) must never be trained on")
    model, second = train_both(rows, with_semantic=not args.no_semantic)
    artifact.save(model, args.out)
    print(
        f"trained on {len(rows)} rows ({' + '.join(SPLITS)} + everyday): "
        f"{args.out} ({args.out.stat().st_size / 1024:.0f} KiB, "
        f"{time.perf_counter() - started:.1f} s)"
    )
    thresholds = model.meta["thresholds"]
    print("thresholds:", ", ".join(f"{c} {t:.2f}" for c, t in thresholds.items()))
    for name, values in model.meta["cross_validation"].items():
        print(f"  out-of-fold {name:24}", "  ".join(f"{k} {v:.3f}" for k, v in values.items()))
    if second is not None:
        semantic.save(second, args.semantic_out)
        meta = second.meta
        print(
            f"second stage: {args.semantic_out} ({args.semantic_out.stat().st_size / 1024:.0f} "
            f"KiB), gate {meta['gate']}, alpha {meta['alpha']}, "
            f"over the gate {meta['gate_share']}"
        )
        for name, values in meta["cross_validation"].items():
            print(f"  out-of-fold {name:24}", "  ".join(f"{k} {v:.3f}" for k, v in values.items()))
    elif not args.no_semantic:
        print("second stage not trained: no sentence embedder installed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
