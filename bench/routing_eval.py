"""Routing quality: the trained auto-router against its baselines on dev and held-out.

    python -m bench.routing_eval [--data-dir datasets/routing] [--artifact PATH]

- dev: a router trained here on train.jsonl only (dev was used to tune hyper-parameters and
  features, never to fit weights of this model);
- held-out: the shipped artifact (trained on train + dev) and, beside it, the train-only router.
  Held-out is never used for tuning; this script only reads it to score.

Baselines in the same run: always tier 2, always tier 3 (the spend reference), the old keyword
analyser, the best two-threshold word-count rule tuned on the training rows of the router being
scored, and random at the training tier ratio (fixed seed, mean of 20 draws). Writes
`bench/results/routing_eval.json`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from emmaus.engine.routing.data import load_rows
from emmaus.engine.routing.decision import TierClassifier
from emmaus.engine.routing.evaluation import evaluate_rows, format_report, report_to_dict
from emmaus.engine.routing.training import train

RESULTS = Path(__file__).with_name("results") / "routing_eval.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="datasets/routing")
    parser.add_argument("--artifact", default=None, help="router artifact (default: shipped)")
    args = parser.parse_args()
    data = Path(args.data_dir)
    train_rows = load_rows(data / "train.jsonl")
    dev_rows = load_rows(data / "dev.jsonl")

    started = time.perf_counter()
    train_only = TierClassifier(train(train_rows))
    trained_in = time.perf_counter() - started
    shipped = TierClassifier.load(args.artifact)

    runs: dict[str, Any] = {}
    reports = [("dev (train-only router)", evaluate_rows(dev_rows, train_only, dataset="dev"))]
    heldout_path = data / "heldout.jsonl"
    if heldout_path.exists():
        heldout_rows = load_rows(heldout_path)
        reports.append(
            ("held-out (shipped router)", evaluate_rows(heldout_rows, shipped, dataset="heldout"))
        )
        reports.append(
            (
                "held-out (train-only router)",
                evaluate_rows(heldout_rows, train_only, dataset="heldout"),
            )
        )
    for title, report in reports:
        print(f"== {title}")
        print(format_report(report))
        print()
        runs[title] = report_to_dict(report)
    runs["meta"] = {
        "train_only_training_seconds": round(trained_in, 2),
        "shipped_artifact": shipped.model.meta,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
