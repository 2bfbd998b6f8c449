"""The hybrid index: reciprocal-rank fusion of dense and BM25 rankings, the relevance floor and
publisher filtering, on hand-made vectors (no model)."""

from __future__ import annotations

import numpy as np

from emmaus.grounding.index import HybridIndex, Shard


def unit(*values: float) -> np.ndarray:
    v = np.zeros(384, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def build() -> HybridIndex:
    index = HybridIndex(floor=0.3)
    index.put(
        Shard(
            1,
            1,
            [10, 11, 12],
            ["apples and pears", "zebra crossing rules", "orchard fruit harvest"],
            np.stack([unit(1, 0.1), unit(0, 1), unit(0.9, 0.4)]),
        )
    )
    index.put(Shard(2, 1, [20], ["apples in another library"], np.stack([unit(1, 0)])))
    return index


def test_fusion_prefers_chunks_ranked_well_by_both() -> None:
    hits = build().search(unit(1, 0.2), "apples", [1], 3)
    assert [h.chunk_id for h in hits] == [10, 12]  # 11 is below the floor
    assert hits[0].keyword > 0 and hits[1].keyword == 0
    assert hits[0].score > hits[1].score
    assert all(h.similarity >= 0.3 for h in hits)


def test_keyword_match_alone_does_not_pass_the_floor() -> None:
    hits = build().search(unit(1, 0), "zebra crossing", [1], 3)
    assert 11 not in [h.chunk_id for h in hits]


def test_publisher_filter_and_multi_publisher_search() -> None:
    index = build()
    assert [h.chunk_id for h in index.search(unit(1, 0), "apples", [2], 3)] == [20]
    both = index.search(unit(1, 0), "apples", [1, 2], 5)
    assert {h.publisher_id for h in both} == {1, 2}
    assert index.search(unit(1, 0), "apples", [3], 3) == []
    assert index.search(unit(1, 0), "apples", [1], 1)[0].chunk_id in (10, 20, 12)


def test_empty_query_words_and_empty_shards() -> None:
    index = HybridIndex()
    index.put(Shard(5, 1, [], [], np.zeros((0, 384), dtype=np.float32)))
    assert index.search(unit(1), "", [5], 3) == []
    shard = Shard(6, 1, [1], ["the and of"], np.stack([unit(1)]))  # stopwords only
    index.put(shard)
    assert [h.chunk_id for h in index.search(unit(1), "the", [6], 3)] == [1]


def test_large_shards_use_an_inverted_file_with_high_recall() -> None:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(40, 384)).astype(np.float32)
    vectors = centres[np.arange(4000) % 40] + rng.normal(0, 0.05, (4000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = Shard(1, 1, list(range(4000)), ["text"] * 4000, vectors)
    approx = Shard(1, 1, list(range(4000)), ["text"] * 4000, vectors, ivf_threshold=1000)
    assert exact.dense.exact and not approx.dense.exact
    overlap = []
    for query in vectors[rng.integers(0, 4000, 20)]:
        want, _ = exact.dense.top(query, 20)
        got, sims = approx.dense.top(query, 20)
        assert np.all(np.diff(sims) <= 1e-6)  # best first
        overlap.append(len(set(want.tolist()) & set(got.tolist())) / 20)
    assert np.mean(overlap) > 0.9
    np.testing.assert_allclose(approx.dense.similarity(vectors[0], np.array([0])), [1.0], atol=1e-5)
