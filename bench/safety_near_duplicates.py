"""Near-duplicates between a safety split and others: the check the test split was built with.

    python -m bench.safety_near_duplicates [datasets/safety/heldout_v5.jsonl]
        [--against train dev heldout blind heldout_v2 heldout_v3 heldout_v4] [--bar 0.5] [--show 20]

Each text becomes counts of its character 4-grams and word bigrams (lower case, letters, digits
and apostrophes), scaled to unit length; the similarity of two texts is the cosine of those
vectors. For every row of the split, its most similar row in the others is printed, highest
first, and how many are at or over `--bar` (the test split was written with none at 0.5 or over:
`datasets/safety/README.md`). Surface similarity only: the same situation told in other words
scores low, so the split was also read against the others by hand."""

from __future__ import annotations

import argparse
import itertools
import math
import re
from collections import Counter
from pathlib import Path

import numpy as np

from emmaus.engine.safety.dataset import Row, read_rows

_NON_WORD = re.compile(r"[^a-z0-9' ]")
_SPACES = re.compile(r"\s+")


def features(text: str) -> dict[str, float]:
    """Unit-length counts of character 4-grams and word bigrams."""
    t = _SPACES.sub(" ", _NON_WORD.sub(" ", text.lower())).strip()
    counts: Counter[str] = Counter(t[i : i + 4] for i in range(len(t) - 3))
    words = t.split()
    counts.update("w:" + a + " " + b for a, b in itertools.pairwise(words))
    norm = math.sqrt(sum(v * v for v in counts.values())) or 1.0
    return {k: v / norm for k, v in counts.items()}


def nearest(rows: list[Row], others: list[Row]) -> list[tuple[float, Row, Row | None]]:
    """(best cosine, row, its nearest other row) for every row of `rows`, highest first."""
    mine = [features(r.text) for r in rows]
    vocab = {k: i for i, k in enumerate(sorted({k for f in mine for k in f}))}
    dense = np.zeros((len(rows), len(vocab)), dtype=np.float64)
    for i, f in enumerate(mine):
        for k, v in f.items():
            dense[i, vocab[k]] = v
    best = np.zeros(len(rows))
    which = np.full(len(rows), -1)
    for j, other in enumerate(others):
        shared = [(vocab[k], v) for k, v in features(other.text).items() if k in vocab]
        if not shared:
            continue
        idx = np.array([i for i, _ in shared])
        val = np.array([v for _, v in shared])
        sim = dense[:, idx] @ val
        better = sim > best
        best[better], which[better] = sim[better], j
    out = [
        (float(best[i]), rows[i], others[which[i]] if which[i] >= 0 else None)
        for i in range(len(rows))
    ]
    return sorted(out, key=lambda item: -item[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "split", nargs="?", type=Path, default=Path("datasets/safety/heldout_v5.jsonl")
    )
    parser.add_argument(
        "--against",
        nargs="+",
        default=["train", "dev", "heldout", "blind", "heldout_v2", "heldout_v3", "heldout_v4"],
    )
    parser.add_argument("--bar", type=float, default=0.5)
    parser.add_argument("--show", type=int, default=20)
    args = parser.parse_args()
    others: list[Row] = []
    for name in args.against:
        others += read_rows(args.split.parent / f"{name}.jsonl")
    results = nearest(read_rows(args.split), others)
    for score, row, other in results[: args.show]:
        print(f"{score:.2f} {row.id} {row.text[:80]!r}")
        if other is not None:
            print(f"     {other.id} {other.text[:80]!r}")
    over = sum(score >= args.bar for score, _, _ in results)
    print(f"{len(results)} rows; highest {results[0][0]:.2f}; {over} at or over {args.bar}")


if __name__ == "__main__":
    main()
