"""Retrain the auto-router from labelled JSONL (see `emmaus.engine.routing.data` for the format):

    python -m emmaus.engine.routing.train --data mine.jsonl [--data more.jsonl] --out router.json

Then point Emmaus at the artifact (`TierClassifier.load("router.json")`). The same data gives a
byte-identical artifact."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from emmaus.engine.routing.data import DataError, load_rows
from emmaus.engine.routing.training import Hyper, train


def build_parser() -> argparse.ArgumentParser:
    defaults = Hyper()
    parser = argparse.ArgumentParser(
        prog="python -m emmaus.engine.routing.train", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data", action="append", required=True, help="labelled JSONL (repeat)")
    parser.add_argument("--out", required=True, help="where to write the artifact JSON")
    parser.add_argument("--l2", type=float, default=defaults.l2, help="L2 strength")
    parser.add_argument("--folds", type=int, default=defaults.folds, help="CV folds (calibration)")
    parser.add_argument(
        "--hash-bits", type=int, default=defaults.features.hash_bits, help="log2 hashed buckets"
    )
    parser.add_argument(
        "--augment",
        type=float,
        default=defaults.augment,
        help="share of tier 2/3 rows given synthetic thank-you / keep-going turns (0 = off)",
    )
    parser.add_argument("--quiet", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    started = time.perf_counter()
    try:
        rows = [row for path in args.data for row in load_rows(path)]
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    base = Hyper()
    hyper = replace(
        base,
        l2=args.l2,
        folds=args.folds,
        augment=args.augment,
        features=replace(base.features, hash_bits=args.hash_bits),
    )
    try:
        model = train(rows, hyper)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    if not args.quiet:
        meta = model.meta
        cv = meta.get("cross_validation") or {}
        print(
            f"trained on {meta['rows']} rows (tiers {meta['tier_counts']}) in "
            f"{time.perf_counter() - started:.1f}s; cross-validated agreement "
            f"{cv.get('accuracy', 'n/a')}, temperature {meta['temperature']}; wrote {out} "
            f"({out.stat().st_size / 1024:.0f} KiB)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
