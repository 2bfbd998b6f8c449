"""Nearest neighbours by inner product (cosine on unit vectors) with faiss.

Up to `IVF_THRESHOLD` vectors the search is exact (`IndexFlatIP`); faiss scans with its own SIMD
loop for single queries, which stays fast on a busy two-core machine where a multi-threaded BLAS
matrix-vector product stalls on thread synchronisation. Larger shards use an inverted file
(`IndexIVFFlat`, about 4·√n lists, probing 1/16 of them), which reads a small share of the
vectors per query at the cost of a little recall. faiss runs single-threaded here: one query is
too little work to share, and the server runs many queries concurrently instead.
"""

from __future__ import annotations

import math

import faiss
import numpy as np

IVF_THRESHOLD = 50_000
faiss.omp_set_num_threads(1)


class DenseIndex:
    def __init__(self, matrix: np.ndarray, ivf_threshold: int = IVF_THRESHOLD) -> None:
        matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.size, self.dimensions = matrix.shape
        self.exact = self.size < ivf_threshold
        if self.exact:
            index = faiss.IndexFlatIP(self.dimensions)
            index.add(matrix)
            # A view of faiss' own storage: one copy of the vectors, not two.
            self.matrix = faiss.rev_swig_ptr(index.get_xb(), matrix.size).reshape(matrix.shape)
        else:
            lists = int(4 * math.sqrt(self.size))
            quantizer = faiss.IndexFlatIP(self.dimensions)
            metric = faiss.METRIC_INNER_PRODUCT
            index = faiss.IndexIVFFlat(quantizer, self.dimensions, lists, metric)
            index.train(matrix)
            index.add(matrix)
            index.nprobe = max(16, lists // 16)
            self._quantizer = quantizer  # the IVF index does not own it
            self.matrix = matrix
        self._index = index

    def __len__(self) -> int:
        return self.size

    def top(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, similarities) of the `k` nearest rows, best first."""
        if self.size == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, self.size)
        sims, rows = self._index.search(np.ascontiguousarray(query[None, :], dtype=np.float32), k)
        keep = rows[0] >= 0  # an inverted file may find fewer than k
        return rows[0][keep], sims[0][keep]

    def similarity(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return self.matrix[rows] @ query
