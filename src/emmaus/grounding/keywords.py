"""BM25 keyword scoring over one publisher's chunks, with `bm25s` (sparse matrices on numpy)."""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

_WORDS = re.compile(r"(?u)\b\w\w+\b")
_STOP = frozenset(STOPWORDS_EN)


def words(text: str) -> list[str]:
    return [w for w in _WORDS.findall(text.lower()) if w not in _STOP]


class KeywordIndex:
    """`scores(query)` gives one BM25 score per chunk, in the order the texts were given."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        self._bm25: bm25s.BM25 | None = None
        tokens = [words(t) for t in texts]
        if any(tokens):
            self._bm25 = bm25s.BM25()
            self._bm25.index(tokens, show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        if self._bm25 is None:
            return np.zeros(self.size, dtype=np.float32)
        ids = self._bm25.get_tokens_ids(words(query))
        if not ids:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores_from_ids(ids), dtype=np.float32)
