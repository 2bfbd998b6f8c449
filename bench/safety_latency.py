"""Safety layer latency per message: `assess_input` and `moderate`, at 50, 300 and 1,000
characters, one core, beside a bare `str.lower()` of the same message.

    python -m bench.safety_latency [--iterations 3000]

Every iteration uses a different message, so the normaliser's and the patterns' small caches do
not flatter the numbers: messages are built (fixed seed) by joining random texts of
`datasets/safety/train.jsonl` up to the size (real user phrasing, crisis and benign mixed; a
few built-in sentences if the file is missing). `assess_input (+3 turns)` adds three earlier
300-character user turns, the same for the whole run (as in a conversation, where earlier turns
are cached). Writes `bench/results/safety_latency.json`."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.types import Message

RESULTS = Path(__file__).parent / "results" / "safety_latency.json"
SIZES = (50, 300, 1000)
_FALLBACK = (
    "I have been feeling tired and worried about work lately.",
    "Can you help me plan a Bible study for our small group?",
    "My mom is in the hospital and I do not know what to pray.",
    "What is the best way to get better sleep before an exam?",
)


def _corpus() -> list[str]:
    path = Path("datasets/safety/train.jsonl")
    if not path.exists():
        return []
    return [json.loads(line)["text"] for line in path.read_text().splitlines() if line.strip()]


def messages(size: int, count: int, seed: int) -> list[str]:
    """`count` different messages of `size` characters: random corpus texts joined."""
    rng = random.Random(seed)
    corpus = _corpus() or list(_FALLBACK)
    out = []
    for _ in range(count):
        text = rng.choice(corpus)
        while len(text) < size:
            text += " " + rng.choice(corpus)
        out.append(text[:size])
    return out


def measure(call: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    for text in texts[:200]:
        call(text)
    samples = []
    for text in texts:
        started = time.perf_counter_ns()
        call(text)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    return {
        "p50_us": samples[len(samples) // 2] / 1000,
        "p99_us": samples[int(len(samples) * 0.99)] / 1000,
        "mean_us": statistics.fmean(samples) / 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    layer = SafetyLayer.from_settings(None)
    context = [Message(role="user", content=t) for t in messages(300, 3, seed=7)]
    calls: dict[str, Callable[[str], object]] = {
        "str.lower": str.lower,
        "assess_input": lambda t: layer.assess_input([Message(role="user", content=t)]),
        "assess_input (+3 turns)": lambda t: layer.assess_input(
            [*context, Message(role="user", content=t)]
        ),
        "moderate": lambda t: layer.moderate([t]),
        "screen_text": lambda t: layer.screen_text(t),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    print(f"{'call':26} {'chars':>5} {'p50 us':>9} {'p99 us':>9} {'p50 / lower':>12}")
    for size in SIZES:
        texts = messages(size, args.iterations, seed=size)
        results[str(size)] = {}
        for name, call in calls.items():
            results[str(size)][name] = measure(call, texts)
        lower = results[str(size)]["str.lower"]["p50_us"]
        for name, r in results[str(size)].items():
            r["p50_ratio_to_lower"] = r["p50_us"] / lower if lower else float("nan")
            print(
                f"{name:26} {size:>5} {r['p50_us']:9.1f} {r['p99_us']:9.1f} "
                f"{r['p50_ratio_to_lower']:11.0f}x"
            )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
