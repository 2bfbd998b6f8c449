"""Train the shipped safety model.

    python -m emmaus.engine.safety.train [--data datasets/safety] [--out PATH]

Fits on `train.jsonl` + `dev.jsonl`, plus everyday requests as benign rows (the routing data's
train and dev conversations, `--ordinary`), with thresholds from 4-fold cross-validation on
those rows (see `training`), and writes the artifact (by default the shipped `model.npz` next to
this file). No held-out file is ever read here (neither safety's nor routing's). The same data
always gives a byte-identical file."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from emmaus.engine.safety import artifact
from emmaus.engine.safety.dataset import ordinary_rows, read_rows
from emmaus.engine.safety.training import train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emmaus.engine.safety.train")
    parser.add_argument("--data", type=Path, default=Path("datasets/safety"))
    parser.add_argument("--out", type=Path, default=artifact.DEFAULT_PATH)
    parser.add_argument(
        "--ordinary",
        type=Path,
        action="append",
        help="JSONL of everyday conversations to learn as benign (default: datasets/routing "
        "train and dev)",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = read_rows(args.data / "train.jsonl") + read_rows(args.data / "dev.jsonl")
    ordinary = args.ordinary
    if ordinary is None:
        routing = args.data.parent / "routing"
        ordinary = [routing / "train.jsonl", routing / "dev.jsonl"]
    for path in ordinary:
        rows += ordinary_rows(path)
    model = train(rows)
    artifact.save(model, args.out)
    thresholds = model.meta["thresholds"]
    print(
        f"trained on {len(rows)} rows (train + dev): "
        f"{args.out} ({args.out.stat().st_size / 1024:.0f} KiB, "
        f"{time.perf_counter() - started:.1f} s)"
    )
    print("thresholds:", ", ".join(f"{c} {t:.2f}" for c, t in thresholds.items()))
    for name, values in model.meta["cross_validation"].items():
        print(f"  out-of-fold {name:24}", "  ".join(f"{k} {v:.3f}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
