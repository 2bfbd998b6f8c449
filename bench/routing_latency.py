"""Routing latency: time per decision of the trained auto-router (`TierClassifier.classify`,
features + model + reason) beside the old keyword analyser, on one core.

    python -m bench.routing_latency [--iterations 3000]

Cases: single queries of 50, 300 and 1,000 characters, and a 20-turn conversation whose newest
turn is a short follow-up. p50/p99 in microseconds and the router/analyser ratio; writes
`bench/results/routing_latency.json`.
"""

from __future__ import annotations

import os

# One core: keep numpy's BLAS from spreading a tiny product over threads.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from emmaus.engine.analyser import analyse  # noqa: E402
from emmaus.engine.routing.decision import TierClassifier  # noqa: E402
from emmaus.engine.types import Message  # noqa: E402

RESULTS = Path(__file__).with_name("results") / "routing_latency.json"

_PROSE = (
    "Our small group has been reading through the letters of Paul this autumn, and last week "
    "we reached Romans 8, which prompted a long conversation about suffering, hope and what it "
    "means that creation itself is groaning. One member asked how the early church read this "
    "passage, another wanted to know whether the Greek word for groaning appears elsewhere, and "
    "a third simply wanted something encouraging to share with a friend in hospital. Could you "
    "help me prepare a short summary for next week that touches on each of these questions, "
    "with a couple of cross references and one practical suggestion for the group to try? "
)


def _text(chars: int) -> str:
    text = (_PROSE * (chars // len(_PROSE) + 1))[:chars]
    return text[:-1] + "?"


def _conversation(turns: int) -> list[Message]:
    messages: list[Message] = []
    for i in range(turns - 1):
        if i % 2 == 0:
            messages.append(Message("user", _text(200 + 40 * (i % 5))))
        else:
            messages.append(Message("assistant", _text(900)))
    messages.append(Message("user", "and what about the next chapter?"))
    return messages


def _percentiles(fn: Callable[[], object], iterations: int) -> dict[str, float]:
    for _ in range(min(200, iterations)):
        fn()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - started) / 1000.0)
    samples.sort()
    return {
        "p50_us": round(statistics.median(samples), 1),
        "p99_us": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 1),
        "mean_us": round(statistics.fmean(samples), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    started = time.perf_counter()
    classifier = TierClassifier.load()
    load_ms = (time.perf_counter() - started) * 1000
    cases: dict[str, Sequence[Message]] = {
        "query 50 chars": [Message("user", _text(50))],
        "query 300 chars": [Message("user", _text(300))],
        "query 1,000 chars": [Message("user", _text(1000))],
        "conversation 20 turns": _conversation(20),
    }
    results: dict[str, object] = {"artifact_load_ms": round(load_ms, 1), "cases": {}}
    header = f"{'case':<24}{'router p50':>12}{'p99':>9}{'analyser p50':>14}{'p99':>9}{'ratio':>8}"
    print(f"artifact load {load_ms:.1f} ms; times in microseconds per decision, one core")
    print(header)
    print("-" * len(header))
    for name, messages in cases.items():
        router = _percentiles(lambda m=messages: classifier.classify(m), args.iterations)
        old = _percentiles(lambda m=messages: analyse(m), args.iterations)
        ratio = router["p50_us"] / old["p50_us"] if old["p50_us"] else float("nan")
        results["cases"][name] = {  # type: ignore[index]
            "router": router,
            "old_analyser": old,
            "router_over_analyser_p50": round(ratio, 2),
        }
        print(
            f"{name:<24}{router['p50_us']:>12.1f}{router['p99_us']:>9.1f}"
            f"{old['p50_us']:>14.1f}{old['p99_us']:>9.1f}{ratio:>7.1f}x"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
