"""The embedded hybrid index: per publisher, a dense vector index (faiss) and a BM25 index,
fused by reciprocal rank, with a relevance floor on the dense similarity.

Why a floor on cosine similarity rather than on the fused score: reciprocal-rank scores are
relative (the best of a bad lot still ranks first), while cosine similarity of MiniLM embeddings
is an absolute measure of topical closeness; a chunk below the floor is not offered as a source
however well it ranks, so an unrelated question gets no sources at all. Keyword-only candidates
get their similarity computed exactly, so the floor applies to them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from emmaus.grounding.dense import IVF_THRESHOLD, DenseIndex
from emmaus.grounding.keywords import KeywordIndex

RRF_K = 60  # the usual constant of reciprocal rank fusion (Cormack et al.)
DEFAULT_FLOOR = 0.30


@dataclass(frozen=True, slots=True)
class Hit:
    chunk_id: int
    publisher_id: int
    score: float  # fused reciprocal-rank score: orders the hits
    similarity: float  # cosine similarity to the query: the relevance floor applies to it
    keyword: float  # BM25 score (0 when no query word occurs)


class Shard:
    """One publisher's chunks. Immutable: an ingest builds a new shard and swaps it in."""

    def __init__(
        self,
        publisher_id: int,
        revision: int,
        chunk_ids: Sequence[int],
        texts: Sequence[str],
        matrix: np.ndarray,
        ivf_threshold: int = IVF_THRESHOLD,
    ) -> None:
        if matrix.shape[0] != len(chunk_ids) or len(texts) != len(chunk_ids):
            raise ValueError("chunk ids, texts and embeddings differ in length")
        self.publisher_id = publisher_id
        self.revision = revision
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        self.dense = DenseIndex(matrix, ivf_threshold)
        self.keywords = KeywordIndex(texts)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @property
    def matrix(self) -> np.ndarray:
        return self.dense.matrix


def _top_keywords(scores: np.ndarray, depth: int) -> np.ndarray:
    """Rows of the `depth` best positive BM25 scores, best first."""
    rows = np.flatnonzero(scores > 0)
    if len(rows) > depth:
        rows = rows[np.argpartition(-scores[rows], depth - 1)[:depth]]
    return rows[np.argsort(-scores[rows], kind="stable")]


@dataclass(slots=True)
class _Candidate:
    shard: Shard
    row: int
    score: float = 0.0
    similarity: float | None = None
    keyword: float = 0.0


class HybridIndex:
    def __init__(self, floor: float = DEFAULT_FLOOR, depth: int = 50) -> None:
        self.floor = floor
        self.depth = depth  # candidates taken from each ranking before fusion
        self.shards: dict[int, Shard] = {}

    def put(self, shard: Shard) -> None:
        self.shards[shard.publisher_id] = shard

    def drop(self, publisher_id: int) -> None:
        self.shards.pop(publisher_id, None)

    def revision(self, publisher_id: int) -> int | None:
        shard = self.shards.get(publisher_id)
        return None if shard is None else shard.revision

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards.values())

    def search(
        self,
        query_vector: np.ndarray,
        query_text: str,
        publisher_ids: Iterable[int],
        limit: int,
        floor: float | None = None,
    ) -> list[Hit]:
        shards = [self.shards[p] for p in publisher_ids if p in self.shards and len(self.shards[p])]
        if not shards or limit < 1:
            return []
        floor = self.floor if floor is None else floor
        depth = max(self.depth, limit * 4)
        dense: list[tuple[float, Shard, int]] = []
        sparse: list[tuple[float, Shard, int]] = []
        for shard in shards:
            rows, sims = shard.dense.top(query_vector, depth)
            dense.extend(zip(sims.tolist(), [shard] * len(rows), rows.tolist(), strict=True))
            scores = shard.keywords.scores(query_text)
            top = _top_keywords(scores, depth)
            sparse.extend(zip(scores[top].tolist(), [shard] * len(top), top.tolist(), strict=True))
        if len(shards) > 1:  # merge the per-shard rankings
            dense = sorted(dense, key=lambda t: -t[0])[:depth]
            sparse = sorted(sparse, key=lambda t: -t[0])[:depth]
        candidates: dict[tuple[int, int], _Candidate] = {}
        for rank, (sim, shard, row) in enumerate(dense, start=1):
            c = candidates.setdefault((shard.publisher_id, row), _Candidate(shard, row))
            c.score += 1.0 / (RRF_K + rank)
            c.similarity = sim
        for rank, (keyword, shard, row) in enumerate(sparse, start=1):
            c = candidates.setdefault((shard.publisher_id, row), _Candidate(shard, row))
            c.score += 1.0 / (RRF_K + rank)
            c.keyword = keyword
        for c in candidates.values():
            if c.similarity is None:  # found by keywords only: its similarity, exactly
                c.similarity = float(c.shard.dense.similarity(query_vector, np.array([c.row]))[0])
        hits = [
            Hit(
                int(c.shard.chunk_ids[c.row]),
                c.shard.publisher_id,
                c.score,
                float(c.similarity),
                c.keyword,
            )
            for c in candidates.values()
            if c.similarity is not None and c.similarity >= floor
        ]
        hits.sort(key=lambda h: (-h.score, -h.similarity))
        return hits[:limit]
