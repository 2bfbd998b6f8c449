"""Safety layer latency per message: `assess_input` and `moderate` (both stages), the first stage
alone, and `screen_text`, at 50, 300 and 1,000 characters, on two kinds of traffic.

    python -m bench.safety_latency [--iterations 2000]

- `everyday`: what most traffic looks like. Messages are built (fixed seed) by joining random
  user turns of the routing data (`datasets/routing/{train,dev}.jsonl`: questions, code,
  sermons, nothing in crisis) up to the size.
- `safety mix`: the worst case for the second stage. Messages are built the same way from
  `datasets/safety/train.jsonl` (crisis rows and hard negatives that share their words, so most
  of them are near a threshold and get embedded).

Every iteration uses a different message, so the caches (normaliser, patterns, embeddings) do
not flatter the numbers. `assess_input (+3 turns)` adds three earlier 300-character user turns,
the same for the whole run (as in a conversation, where earlier turns are cached). For each
call: p50, p90, p95, p99 and mean, and the share of messages the second stage (a MiniLM embedding,
several milliseconds) ran on. `embed` alone is the embedding's cost. One core of a shared
machine; no token leaves before the input verdict, so `assess_input` is what a v2 stream's
time to first token gains. Writes `bench/results/safety_latency.json`."""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from emmaus.engine.safety.classifier import SafetyClassifier
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


def _corpus(kind: str) -> list[str]:
    if kind == "safety mix":
        path = Path("datasets/safety/train.jsonl")
        if not path.exists():
            return list(_FALLBACK)
        return [json.loads(line)["text"] for line in path.read_text().splitlines() if line]
    texts: list[str] = []
    for split in ("train", "dev"):
        path = Path(f"datasets/routing/{split}.jsonl")
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    turns = json.loads(line).get("messages", [])
                    texts += [m["content"] for m in turns if m.get("role") == "user"]
    return texts or list(_FALLBACK)


def messages(corpus: list[str], size: int, count: int, seed: int) -> list[str]:
    """`count` different messages of about `size` characters: random corpus texts joined (a
    cut is moved past a random offset when a message came out already, so that no cache
    ever serves a repeat)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        text = rng.choice(corpus)
        while len(text) < 2 * size:
            text += " " + rng.choice(corpus)
        cut = text[:size]
        if cut in seen:
            start = rng.randrange(1, size)
            cut = text[start : start + size]
        if cut not in seen:
            seen.add(cut)
            out.append(cut)
    return out


def measure(
    call: Callable[[str], object], texts: list[str], classifier: SafetyClassifier | None
) -> dict[str, float]:
    for text in texts[:200]:
        call(text)
    if classifier is not None and classifier.embedder is not None:
        classifier.embedder.clear()  # nor may an earlier call's embeddings be served
    runs = classifier.second_runs if classifier else 0
    samples = []
    for text in texts[200:]:
        started = time.perf_counter_ns()
        call(text)
        samples.append(time.perf_counter_ns() - started)
    samples.sort()
    n = len(samples)
    ran = (classifier.second_runs - runs) / n if classifier else 0.0
    return {
        "p50_us": samples[n // 2] / 1000,
        "p90_us": samples[int(n * 0.9)] / 1000,
        "p95_us": samples[int(n * 0.95)] / 1000,
        "p99_us": samples[int(n * 0.99)] / 1000,
        "mean_us": statistics.fmean(samples) / 1000,
        "second_stage_share": ran,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    layer = SafetyLayer.from_settings(None)
    both = layer.classifier
    first = SafetyLayer(layer.policy, both.first_stage())
    embedder = both.embedder
    if embedder is not None:
        embedder.embedder.embed_one("warm up")  # type: ignore[attr-defined]

    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    header = (
        f"{'call':28} {'chars':>5} {'p50 us':>8} {'p90 us':>8} {'p95 us':>8} {'p99 us':>8} "
        f"{'mean us':>8}"
    )
    for kind in ("everyday", "safety mix"):
        corpus = _corpus(kind)
        context = [Message(role="user", content=t) for t in messages(corpus, 300, 3, seed=7)]
        calls: dict[str, tuple[Callable[[str], object], SafetyClassifier | None]] = {
            "str.lower": (str.lower, None),
            "assess_input": (
                lambda t: layer.assess_input([Message(role="user", content=t)]),
                both,
            ),
            "assess_input (+3 turns)": (
                lambda t, c=context: layer.assess_input([*c, Message(role="user", content=t)]),  # type: ignore[misc]
                both,
            ),
            "moderate": (lambda t: layer.moderate([t]), both),
            "first stage assess_input": (
                lambda t: first.assess_input([Message(role="user", content=t)]),
                None,
            ),
            "screen_text": (lambda t: layer.screen_text(t), None),
        }
        if embedder is not None:
            raw = embedder.embedder
            calls["embed (second stage cost)"] = (lambda t, e=raw: e.embed_one(t), None)  # type: ignore[misc]
        results[kind] = {}
        print(f"\n== {kind} ==\n{header}  second stage")
        for size in SIZES:
            row: dict[str, dict[str, float]] = {}
            for index, (name, (call, counted)) in enumerate(calls.items()):
                n = args.iterations if not name.startswith("embed") else min(args.iterations, 300)
                # Other messages for every call: no call finds another's embeddings cached.
                texts = messages(corpus, size, n + 200, seed=size * 100 + index)
                row[name] = measure(call, texts, counted)
                r = row[name]
                share = f"{100 * r['second_stage_share']:5.0f}%" if counted else ""
                print(
                    f"{name:28} {size:>5} {r['p50_us']:8.1f} {r['p90_us']:8.1f} "
                    f"{r['p95_us']:8.1f} {r['p99_us']:8.1f} {r['mean_us']:8.1f}  {share}"
                )
            results[kind][str(size)] = row
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
