"""Retrieval benchmark: latency of the embedded hybrid index at 10k and 100k chunks, and quality
(nDCG@10, recall@10) on a labelled set over the demo library.

    python -m bench.retrieval            # ingests the demo library once into data/bench/

Quality: the default demo books are ingested (resumable; later runs reuse the database), each
labelled question is searched without the floor, results are reduced to distinct chapters and
scored against the labelled chapters; dense-only and BM25-only rankings are shown for comparison.
The floor is then checked: labelled questions that keep at least one relevant source, and
off-topic questions that get none.

Latency: one publisher of N chunks, built from the demo chunks (texts cycled, embeddings
perturbed so no two rows are equal). `search` is the index (dense top-k, BM25, fusion); from
IVF_THRESHOLD chunks the dense part is an inverted file, shown next to the exact scan with the
share of the exact top-50 it finds;
`embed` is the query embedding; `end to end` is `Retriever.search` on the demo database
(publisher lookup, embedding, index, chunk rows).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import time
from pathlib import Path

import numpy as np
from sqlalchemy import select

from bench.retrieval_labels import LABELLED, NEGATIVES
from emmaus.grounding import Embedder, Library, Retriever
from emmaus.grounding.demo import DEMO_PUBLISHER, chapters
from emmaus.grounding.dense import IVF_THRESHOLD
from emmaus.grounding.embedder import DIMENSIONS
from emmaus.grounding.index import HybridIndex, Shard
from emmaus.grounding.schema import ChunkRow, DocumentRow
from emmaus.store import Database, upgrade_database

K = 10


def _chapter(title: str) -> str:
    return title.removesuffix(" (KJV)")


def ndcg(ranked: list[str], relevant: set[str], k: int = K) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def recall(ranked: list[str], relevant: set[str], k: int = K) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant)


def distinct(titles: list[str]) -> list[str]:
    return list(dict.fromkeys(titles))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


async def ingest_demo(library: Library) -> None:
    publisher = await library.publisher(DEMO_PUBLISHER, None, create=True)
    assert publisher is not None
    items = list(chapters())
    started = time.perf_counter()
    added = 0
    for i, chapter in enumerate(items, 1):
        doc, digest, size = chapter.document()
        result = await library.ingest_text(publisher, chapter.source, doc, digest, size)
        added += result.status != "unchanged"
        if added and i % 50 == 0:
            print(f"  ingested {i}/{len(items)} chapters ({time.perf_counter() - started:.0f} s)")
    if added:
        print(f"  demo library: {added} chapters ingested in {time.perf_counter() - started:.0f} s")


async def load_chunks(db: Database) -> tuple[list[int], list[str], list[str], np.ndarray]:
    async with db.session() as s:
        rows = (
            await s.execute(
                select(ChunkRow.id, ChunkRow.text, DocumentRow.title, ChunkRow.embedding)
                .join(DocumentRow, DocumentRow.id == ChunkRow.document_id)
                .order_by(ChunkRow.id)
            )
        ).all()
    matrix = np.frombuffer(b"".join(r[3] for r in rows), dtype="<f4").reshape(-1, DIMENSIONS)
    return [r[0] for r in rows], [r[1] for r in rows], [_chapter(r[2]) for r in rows], matrix


def quality(shard: Shard, titles: dict[int, str], embedder: Embedder, floor: float) -> None:
    index = HybridIndex()
    index.put(shard)
    rows = {int(cid): i for i, cid in enumerate(shard.chunk_ids)}
    scores: dict[str, list[tuple[float, float]]] = {"hybrid": [], "dense": [], "bm25": []}
    kept = 0
    for question, relevant in LABELLED:
        vector = embedder.embed_one(question)
        hits = index.search(vector, question, [shard.publisher_id], 40, floor=-1.0)
        hybrid = distinct([titles[h.chunk_id] for h in hits])
        dense_rows = np.argsort(-(shard.matrix @ vector))[:40]
        dense = distinct([titles[int(shard.chunk_ids[r])] for r in dense_rows])
        sparse_scores = shard.keywords.scores(question)
        sparse_rows = [r for r in np.argsort(-sparse_scores)[:40] if sparse_scores[r] > 0]
        sparse = distinct([titles[int(shard.chunk_ids[r])] for r in sparse_rows])
        for name, ranked in (("hybrid", hybrid), ("dense", dense), ("bm25", sparse)):
            scores[name].append((ndcg(ranked, relevant), recall(ranked, relevant)))
        floored = index.search(vector, question, [shard.publisher_id], 3, floor=floor)
        kept += any(titles[h.chunk_id] in relevant for h in floored)
    print(f"\nQuality on {len(LABELLED)} labelled questions (chapters as documents, k={K}):")
    print(f"  {'ranking':8} {'nDCG@10':>8} {'recall@10':>10}")
    for name, values in scores.items():
        n = statistics.mean(v[0] for v in values)
        r = statistics.mean(v[1] for v in values)
        print(f"  {name:8} {n:8.3f} {r:10.3f}")
    empty = sum(
        not index.search(embedder.embed_one(q), q, [shard.publisher_id], 3, floor=floor)
        for q in NEGATIVES
    )
    print(f"  floor {floor}: {kept}/{len(LABELLED)} questions keep a relevant source in the top 3;")
    print(f"  {empty}/{len(NEGATIVES)} off-topic questions get no sources")
    _ = rows


def synthetic(
    texts: list[str], matrix: np.ndarray, n: int, ivf_threshold: int, seed: int = 7
) -> Shard:
    rng = np.random.default_rng(seed)
    picks = np.arange(n) % len(texts)
    noisy = matrix[picks] + rng.normal(0, 0.02, size=(n, DIMENSIONS)).astype(np.float32)
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    return Shard(1, 1, list(range(n)), [texts[i] for i in picks], noisy, ivf_threshold)


def latency(texts: list[str], matrix: np.ndarray, embedder: Embedder, sizes: list[int]) -> None:
    questions = [q for q, _ in LABELLED] + NEGATIVES
    vectors = embedder.embed(questions)
    embed_ms = []
    for q in questions * 3:
        t = time.perf_counter()
        embedder.embed_one(q)
        embed_ms.append((time.perf_counter() - t) * 1000)
    print(f"\nQuery embedding: p50 {pct(embed_ms, 50):.2f} ms, p95 {pct(embed_ms, 95):.2f} ms")
    print(f"\nIndex search latency ({len(questions)} questions x 5 rounds, limit 3):")
    print(
        f"  {'chunks':>8} {'dense':>6} {'build s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'dense recall@50':>16}"
    )
    for n in sizes:
        exact_shard: Shard | None = None
        for mode in ("exact", "ivf") if n >= IVF_THRESHOLD else ("exact",):
            t = time.perf_counter()
            shard = synthetic(texts, matrix, n, n + 1 if mode == "exact" else IVF_THRESHOLD)
            build = time.perf_counter() - t
            index = HybridIndex()
            index.put(shard)
            for vector, q in zip(vectors[:5], questions, strict=False):  # warm caches
                index.search(vector, q, [1], 3)
            samples = []
            for _ in range(5):
                for vector, q in zip(vectors, questions, strict=True):
                    t = time.perf_counter()
                    index.search(vector, q, [1], 3)
                    samples.append((time.perf_counter() - t) * 1000)
            recall_text = "1 (exact)"
            if mode == "exact":
                exact_shard = shard
            elif exact_shard is not None:
                overlaps = []
                for vector in vectors:
                    want, _ = exact_shard.dense.top(vector, 50)
                    got, _ = shard.dense.top(vector, 50)
                    overlaps.append(len(set(want.tolist()) & set(got.tolist())) / 50)
                recall_text = f"{statistics.mean(overlaps):.3f}"
            print(
                f"  {n:>8} {mode:>6} {build:>8.1f} {pct(samples, 50):>7.2f} "
                f"{pct(samples, 95):>7.2f} {pct(samples, 99):>7.2f} {recall_text:>16}"
            )


async def end_to_end(retriever: Retriever) -> None:
    questions = [q for q, _ in LABELLED]
    await retriever.search(None, questions[0], [DEMO_PUBLISHER], 3)  # loads the shard
    samples = []
    for q in questions * 2:
        t = time.perf_counter()
        await retriever.search(None, q, [DEMO_PUBLISHER], 3)
        samples.append((time.perf_counter() - t) * 1000)
    print(
        f"\nRetriever.search end to end on the demo library (SQLite): "
        f"p50 {pct(samples, 50):.2f} ms, p95 {pct(samples, 95):.2f} ms"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", type=Path, default=Path("data/bench/retrieval.db"))
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--floor", type=float, default=None)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    db = Database(f"sqlite+aiosqlite:///{args.db.resolve()}")
    embedder = Embedder()
    try:
        await upgrade_database(db)
        library = Library(db, embedder)
        await ingest_demo(library)
        ids, texts, titles, matrix = await load_chunks(db)
        print(f"Demo library: {len(ids)} chunks from {len(set(titles))} chapters")
        shard = Shard(1, 1, ids, texts, matrix)
        retriever = Retriever(library)
        floor = args.floor if args.floor is not None else retriever.index.floor
        quality(shard, dict(zip(ids, titles, strict=True)), embedder, floor)
        await end_to_end(retriever)
        latency(texts, matrix, embedder, [int(s) for s in args.sizes.split(",")])
    finally:
        await db.aclose()


if __name__ == "__main__":
    asyncio.run(main())
