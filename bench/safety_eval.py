"""Safety classifier quality on the dev and held-out splits, beside two baselines.

    python -m bench.safety_eval [--data datasets/safety]

For each split: per-category recall / precision / false-positive rate, and crisis-any and
harmful-any (FPR over benign rows), for the shipped layer (default policy), the model without its
patterns, a naive keyword list and always-none. Writes `bench/results/safety_eval.json`.

The shipped model is trained on train + dev (thresholds by cross-validation), so its dev numbers
are in-sample. For an honest dev number the script also trains, in memory, the same recipe on
train only ("train-only model") and scores dev with it (a few seconds). The held-out split is
only evaluated here, never used for training or tuning."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emmaus.engine.safety import artifact
from emmaus.engine.safety.classifier import SafetyClassifier
from emmaus.engine.safety.dataset import read_rows
from emmaus.engine.safety.evaluation import (
    always_none,
    evaluate,
    keyword_baseline,
    layer_predictor,
    table,
)
from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.safety.policy import default_policy
from emmaus.engine.safety.training import train

RESULTS = Path(__file__).parent / "results" / "safety_eval.json"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("datasets/safety"))
    parser.add_argument("--splits", nargs="+", default=["dev", "heldout"])
    args = parser.parse_args()
    model = artifact.load()
    systems = {
        "emmaus": layer_predictor(SafetyLayer(default_policy(), SafetyClassifier(model))),
        "model only (no patterns)": layer_predictor(
            SafetyLayer(default_policy(), SafetyClassifier(model, use_patterns=False))
        ),
        "keyword baseline": keyword_baseline,
        "always none": always_none,
    }
    output: dict[str, object] = {
        "model": {k: model.meta[k] for k in ("trained_on", "thresholds", "cross_validation")}
    }
    train_only = SafetyClassifier(train(read_rows(args.data / "train.jsonl")))
    for split in args.splits:
        rows = read_rows(args.data / f"{split}.jsonl")
        chosen = dict(systems)
        if split == "dev":
            chosen = {
                "train-only model": layer_predictor(SafetyLayer(default_policy(), train_only)),
                **systems,
            }
        reports = {name: evaluate(rows, predict) for name, predict in chosen.items()}
        print(f"\n== {split}: {len(rows)} rows, {sum(not r.labels for r in rows)} benign ==")
        print(table(reports))
        output[split] = {
            "rows": len(rows),
            "systems": {
                name: {key: counts.to_json() for key, counts in report.items()}
                for name, report in reports.items()
            },
        }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(output, indent=2) + "\n")
    print(f"\nwritten {RESULTS}")


if __name__ == "__main__":
    main()
