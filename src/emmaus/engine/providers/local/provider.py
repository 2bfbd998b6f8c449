"""The `local` provider: GGUF models run in-process by llama.cpp (llama-cpp-python).

One model instance per GGUF file, loaded on first use (or by `warm_up`), served by one worker
thread with a bounded FIFO queue (`local_worker`). Prompts are the model's own chat template
(`local_prompt`); structured output is grammar-constrained (`local_generate`).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from emmaus.config import Settings, get_settings
from emmaus.engine.providers.local.bridge import GenerationJob, LocalStream, WarmUpJob, wait_for
from emmaus.engine.providers.local.generate import Request
from emmaus.engine.providers.local.model import LoadedModel, Tokenizer, model_path
from emmaus.engine.providers.local.worker import ModelWorker
from emmaus.engine.types import Completion, GenerationParams, Message, StreamDelta
from emmaus.errors import InvalidRequest, ProviderUnavailable

if TYPE_CHECKING:
    from emmaus.catalog import ModelSpec


class LocalProvider:
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or get_settings()
        self._workers: dict[Path, ModelWorker] = {}
        self._tokenizers: dict[Path, Tokenizer] = {}
        self._lock = threading.Lock()  # count_tokens may come from any thread
        self._closed = False

    # -- Provider protocol --------------------------------------------------------------------

    async def complete(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> Completion:
        job = GenerationJob(
            self._request(model, messages, params), streaming=False, loop=asyncio.get_running_loop()
        )
        result = await wait_for(self._worker(model), job)
        assert isinstance(result, Completion)
        return result

    def stream(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamDelta]:
        loop = asyncio.get_running_loop()

        def start() -> tuple[ModelWorker, GenerationJob]:
            request = self._request(model, messages, params)
            return self._worker(model), GenerationJob(request, streaming=True, loop=loop)

        return LocalStream(start)

    def count_tokens(self, model: ModelSpec, text: str) -> int:
        return self._tokenizer(model).count(text)

    async def aclose(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers.values())
            tokenizers = list(self._tokenizers.values())
            self._workers.clear()
            self._tokenizers.clear()
        for worker in workers:
            await asyncio.to_thread(worker.close)
        for tokenizer in tokenizers:
            tokenizer.close()

    # -- extras for the server ----------------------------------------------------------------

    async def warm_up(self, model: ModelSpec) -> None:
        """Loads the model and its tokenizer now rather than on the first request."""
        await asyncio.to_thread(self._tokenizer, model)
        await wait_for(self._worker(model), WarmUpJob(asyncio.get_running_loop()))

    def queue_stats(self) -> dict[str, dict[str, int]]:
        """Per model file: requests waiting and whether one is running (for health/metrics)."""
        with self._lock:
            return {
                str(path): {"waiting": worker.waiting, "running": int(worker.busy)}
                for path, worker in self._workers.items()
            }

    # -- internals ----------------------------------------------------------------------------

    @staticmethod
    def _request(
        model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> Request:
        if params.max_tokens is not None and params.max_tokens < 1:
            raise InvalidRequest("max_tokens must be at least 1")
        max_tokens = params.max_tokens if params.max_tokens is not None else model.max_output_tokens
        return Request(messages=list(messages), params=params, max_tokens=max_tokens)

    def _worker(self, model: ModelSpec) -> ModelWorker:
        path = model_path(model).resolve()
        with self._lock:
            self._check_open()
            worker = self._workers.get(path)
            if worker is None:
                loader = functools.partial(
                    LoadedModel.load,
                    path,
                    n_ctx=model.context_window,
                    n_threads=self._settings.local_threads,
                )
                worker = ModelWorker(model.id, loader, queue_size=self._settings.local_queue_size)
                self._workers[path] = worker
            return worker

    def _tokenizer(self, model: ModelSpec) -> Tokenizer:
        path = model_path(model).resolve()
        with self._lock:
            self._check_open()
            tokenizer = self._tokenizers.get(path)
            if tokenizer is None:
                tokenizer = self._tokenizers[path] = Tokenizer(path)
            return tokenizer

    def _check_open(self) -> None:
        if self._closed:
            raise ProviderUnavailable("the local provider is closed")
