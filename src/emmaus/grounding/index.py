"""The embedded hybrid index: per publisher, a float32 matrix of chunk embeddings and a BM25
index, fused by reciprocal rank, with a relevance floor on the dense similarity.

Why a floor on cosine similarity rather than on the fused score: reciprocal-rank scores are
relative (the best of a bad lot still ranks first), while cosine similarity of MiniLM embeddings
is an absolute measure of topical closeness; a chunk below the floor is not offered as a source
however well it ranks, so an unrelated question gets no sources at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

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
    ) -> None:
        if matrix.shape[0] != len(chunk_ids) or len(texts) != len(chunk_ids):
            raise ValueError("chunk ids, texts and embeddings differ in length")
        self.publisher_id = publisher_id
        self.revision = revision
        self.chunk_ids = np.asarray(chunk_ids, dtype=np.int64)
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.keywords = KeywordIndex(texts)

    def __len__(self) -> int:
        return len(self.chunk_ids)


def _ranks(scores: np.ndarray, depth: int, positive_only: bool) -> dict[int, int]:
    """Row -> 1-based rank for the `depth` best rows."""
    n = len(scores)
    if n == 0:
        return {}
    depth = min(depth, n)
    top = np.argpartition(-scores, depth - 1)[:depth] if depth < n else np.arange(n)
    top = top[np.argsort(-scores[top], kind="stable")]
    if positive_only:
        top = top[scores[top] > 0]
    return {int(row): rank for rank, row in enumerate(top, start=1)}


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
        if len(shards) == 1:
            (shard,) = shards
            dense = shard.matrix @ query_vector
            sparse = shard.keywords.scores(query_text)
            ids, owners = shard.chunk_ids, None
        else:
            dense = np.concatenate([s.matrix @ query_vector for s in shards])
            sparse = np.concatenate([s.keywords.scores(query_text) for s in shards])
            ids = np.concatenate([s.chunk_ids for s in shards])
            owners = np.concatenate([np.full(len(s), s.publisher_id) for s in shards])
        depth = max(self.depth, limit * 4)
        dense_ranks = _ranks(dense, depth, positive_only=False)
        sparse_ranks = _ranks(sparse, depth, positive_only=True)
        fused: dict[int, float] = {}
        for ranks in (dense_ranks, sparse_ranks):
            for row, rank in ranks.items():
                fused[row] = fused.get(row, 0.0) + 1.0 / (RRF_K + rank)
        # Keyword-only candidates need their similarity too, for the floor.
        hits = [
            Hit(
                int(ids[row]),
                shards[0].publisher_id if owners is None else int(owners[row]),
                score,
                float(dense[row]),
                float(sparse[row]),
            )
            for row, score in fused.items()
            if dense[row] >= floor
        ]
        hits.sort(key=lambda h: (-h.score, -h.similarity))
        return hits[:limit]
