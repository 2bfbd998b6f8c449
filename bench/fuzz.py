"""The longer fuzzing run: schemathesis against Emmaus' own OpenAPI document, every operation,
authenticated, many examples each. Zero 5xx and zero responses off the document expected.

Run: `python -m bench.fuzz [--examples 200] [--seed 1]`; the suite runs a few examples of each
(tests/faults/test_fuzz_openapi.py)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from tests.faults.fuzz_app import fuzz_operation, fuzz_target, operations

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=200, help="examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    console = Console()
    failures: dict[str, str] = {}
    labels = [op.label for op in operations()]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="emmaus-fuzz-") as data, fuzz_target(Path(data)) as t:
        for label in labels:
            began = time.perf_counter()
            try:
                fuzz_operation(t, label, args.examples, seed=args.seed)
            except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup: how to reproduce
                failures[label] = str(exc)
                console.print(f"[red]FAIL[/red] {label}\n{exc}")
            else:
                console.print(f"ok   {label} ({time.perf_counter() - began:.1f} s)")
    elapsed = time.perf_counter() - started
    console.print(
        f"{len(labels)} operations, {args.examples} examples each, {len(failures)} failing, "
        f"{elapsed:.0f} s"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz.json").write_text(
        json.dumps(
            {
                "operations": len(labels),
                "examples_per_operation": args.examples,
                "seed": args.seed,
                "seconds": round(elapsed),
                "failures": failures,
            },
            indent=2,
        )
        + "\n"
    )
    raise SystemExit(1 if failures else 0)


if __name__ == "__main__":
    main()
