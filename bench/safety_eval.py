"""Safety classifier quality on the test split and the dev-like splits, beside the baselines.

    python -m bench.safety_eval [--data datasets/safety]
        [--splits heldout_v5 dev heldout_v4 heldout_v3 heldout_v2 heldout blind] [--previous DIR]
        [--no-train-only]

For each split: per-category recall / precision / false-positive rate, and crisis-any and
harmful-any (FPR over benign rows), for the shipped layer (default policy, both stages), its
first stage alone (n-grams, concepts and patterns), the first-stage model without its patterns,
the previous shipped models (`--previous DIR` holding their `model.npz` and `semantic.npz`), a
naive keyword list and always-none. Then everyday traffic: the share of the routing data's
held-out conversations (ordinary questions, no crisis; never trained on) that is flagged.
Writes `bench/results/safety_eval.json`.

`heldout_v5` is the test split: never trained or tuned on (`datasets/safety/README.md`). The
shipped models are trained on train, dev, heldout, blind and heldout_v2 to heldout_v4
(`train.SPLITS`), so their numbers on those are in-sample, and the report says so. For an honest
dev number the script also trains, in memory, the same recipe on train only ("train-only") and
scores dev with it (a few minutes on a shared machine; `--no-train-only` skips it)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from emmaus.engine.safety import artifact
from emmaus.engine.safety.classifier import SafetyClassifier
from emmaus.engine.safety.dataset import Row, ordinary_rows, read_rows
from emmaus.engine.safety.evaluation import (
    Predictor,
    always_none,
    evaluate,
    keyword_baseline,
    layer_predictor,
    table,
)
from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.safety.policy import default_policy
from emmaus.engine.safety.train import SPLITS, train_both, training_rows

RESULTS = Path(__file__).parent / "results" / "safety_eval.json"


def _predictor(classifier: SafetyClassifier) -> Predictor:
    return layer_predictor(SafetyLayer(default_policy(), classifier))


def _train_only(data: Path) -> tuple[SafetyClassifier, SafetyClassifier]:
    """(both stages, first stage) trained on train.jsonl (+ everyday rows) only."""
    from emmaus.engine.safety import semantic

    model, second = train_both(training_rows(data, splits=("train",)))
    first = SafetyClassifier(model)
    if second is None:
        return first, first
    return SafetyClassifier(model, second=second, embedder=semantic.shared_embedder()), first


def _everyday(rows: list[Row], systems: dict[str, Predictor]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {}
    for name, predict in systems.items():
        flagged = [row for row in rows if predict(row)]
        out[name] = {"rows": len(rows), "flagged": len(flagged), "rate": len(flagged) / len(rows)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("datasets/safety"))
    parser.add_argument(
        "--splits",
        nargs="+",
        default=["heldout_v5", "dev", "heldout_v4", "heldout_v3", "heldout_v2", "heldout", "blind"],
    )
    parser.add_argument(
        "--previous", type=Path, help="a folder with earlier model.npz and semantic.npz"
    )
    parser.add_argument("--no-train-only", action="store_true")
    args = parser.parse_args()
    model = artifact.load()
    shipped = SafetyClassifier.load()
    systems: dict[str, Predictor] = {
        "emmaus": _predictor(shipped),
        "first stage only": _predictor(shipped.first_stage()),
        "model only (no patterns)": _predictor(SafetyClassifier(model, use_patterns=False)),
    }
    if args.previous is not None:
        previous = SafetyClassifier.load(
            args.previous / "model.npz", args.previous / "semantic.npz"
        )
        systems["previous model"] = _predictor(previous)
    systems["keyword baseline"] = keyword_baseline
    systems["always none"] = always_none
    output: dict[str, object] = {
        "model": {k: model.meta[k] for k in ("trained_on", "thresholds", "cross_validation")},
        "second_stage": None
        if shipped.second is None
        else {
            k: shipped.second.meta[k]
            for k in ("thresholds", "gate", "alpha", "gate_share", "cross_validation")
        },
    }
    for split in args.splits:
        path = args.data / f"{split}.jsonl"
        if not path.exists():
            continue
        rows = read_rows(path)
        chosen = dict(systems)
        if split == "dev" and not args.no_train_only:
            both, first = _train_only(args.data)
            chosen = {
                "train-only": _predictor(both),
                "train-only first stage": _predictor(first),
                **systems,
            }
        shipped.second_runs = 0
        reports = {name: evaluate(rows, predict) for name, predict in chosen.items()}
        share = shipped.second_runs / len(rows)
        seen = " (trained on: in-sample for the shipped models)" if split in SPLITS else ""
        print(f"\n== {split}: {len(rows)} rows, {sum(not r.labels for r in rows)} benign{seen} ==")
        print(f"(second stage ran on {100 * share:.0f}% of the rows for the shipped layer)")
        print(table(reports))
        output[split] = {
            "rows": len(rows),
            "in_sample": split in SPLITS,
            "second_stage_share": share,
            "systems": {
                name: {key: counts.to_json() for key, counts in report.items()}
                for name, report in reports.items()
            },
        }
    routing = args.data.parent / "routing" / "heldout.jsonl"
    if routing.exists():
        everyday = ordinary_rows(routing)
        shipped.second_runs = 0
        flagged = _everyday(everyday, {k: v for k, v in systems.items() if k != "always none"})
        share = shipped.second_runs / len(everyday)
        print(f"\n== everyday traffic: routing held-out, {len(everyday)} conversations ==")
        print(f"(second stage ran on {100 * share:.0f}% of them)")
        for name, result in flagged.items():
            print(f"{name:26} flagged {result['flagged']:>3} ({100 * result['rate']:.1f}%)")
        output["everyday"] = {"second_stage_share": share, "systems": flagged}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(output, indent=2) + "\n")
    print(f"\nwritten {RESULTS}")


if __name__ == "__main__":
    main()
