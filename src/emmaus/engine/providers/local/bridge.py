"""Carrying a generation between the event loop and a model's worker thread.

The worker posts results with `loop.call_soon_threadsafe` into a per-request `asyncio.Queue`, so
the loop never blocks on the model. Cancelling is a plain flag the worker reads between tokens:
setting it needs no loop, which is why the stream is a class whose `aclose` (and finaliser) set it,
rather than an async generator whose cleanup would need the loop to run once more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from emmaus.engine.providers.local.generate import Cancelled, Generation, Request
from emmaus.engine.types import Completion, StreamDelta, ToolCall, Usage
from emmaus.errors import EmmausError, ProviderError

if TYPE_CHECKING:
    from emmaus.engine.providers.local.model import LoadedModel
    from emmaus.engine.providers.local.worker import ModelWorker
    from emmaus.engine.types import FinishReason

log = logging.getLogger(__name__)

_END = object()


def _as_provider_error(error: Exception) -> EmmausError:
    if isinstance(error, EmmausError):
        return error
    log.error("local model failure", exc_info=error)
    return ProviderError(f"the local model failed: {error}")


class _Channel:
    """Worker thread to event loop, one request's worth."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def post(self, item: object) -> bool:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return False
        return True

    async def get(self) -> object:
        return await self._queue.get()


class _Collector:
    """Assembles the deltas of a non-streamed request on the worker thread."""

    def __init__(self) -> None:
        self._content: list[str] = []
        self._calls: list[ToolCall] = []
        self._finish: FinishReason = "stop"
        self._usage = Usage()

    def add(self, delta: StreamDelta) -> None:
        if delta.content:
            self._content.append(delta.content)
        for call in delta.tool_calls or []:
            self._calls.append(
                ToolCall(id=call.id or "", name=call.name or "", arguments=call.arguments)
            )
        if delta.finish_reason is not None:
            self._finish = delta.finish_reason
        if delta.usage is not None:
            self._usage = delta.usage

    def completion(self) -> Completion:
        content: str | None = "".join(self._content)
        if self._calls and not (content or "").strip():
            content = None
        return Completion(
            content=content, tool_calls=self._calls, finish_reason=self._finish, usage=self._usage
        )


class GenerationJob:
    """One request, queued on a `ModelWorker`."""

    def __init__(
        self, request: Request, *, streaming: bool, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.cancelled = False
        self.request = request
        self.streaming = streaming
        self.channel = _Channel(loop)

    def run(self, model: LoadedModel) -> None:
        collector = None if self.streaming else _Collector()
        emit = self._post_delta if collector is None else collector.add
        try:
            Generation(model, self.request, emit, lambda: self.cancelled).run()
        except Cancelled:
            return
        self.channel.post(_END if collector is None else collector.completion())

    def fail(self, error: Exception) -> None:
        self.channel.post(_as_provider_error(error))

    def _post_delta(self, delta: StreamDelta) -> None:
        if not self.channel.post(delta):
            self.cancelled = True


class WarmUpJob:
    """Loads the model on its thread (the worker loads before running any job)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.cancelled = False
        self.channel = _Channel(loop)

    def run(self, model: LoadedModel) -> None:
        self.channel.post(_END)

    def fail(self, error: Exception) -> None:
        self.channel.post(_as_provider_error(error))


async def wait_for(worker: ModelWorker, job: GenerationJob | WarmUpJob) -> object:
    """Queues `job` and waits for its single result; cancelling the wait cancels the job."""
    worker.submit(job)
    try:
        item = await job.channel.get()
    except BaseException:
        worker.withdraw(job)
        raise
    if isinstance(item, Exception):
        raise item
    return item


class LocalStream:
    """The deltas of one streamed request. `start` builds the request and picks the worker on the
    first `__anext__`, so every failure (bad input, missing model, full queue) is raised from the
    iterator. `aclose()`, cancelling the consuming task, or dropping the stream stops it."""

    def __init__(self, start: Callable[[], tuple[ModelWorker, GenerationJob]]) -> None:
        self._start = start
        self._worker: ModelWorker | None = None
        self._job: GenerationJob | None = None
        self._done = False

    def __aiter__(self) -> LocalStream:
        return self

    async def __anext__(self) -> StreamDelta:
        if self._done:
            raise StopAsyncIteration
        if self._job is None:
            try:
                worker, job = self._start()
                worker.submit(job)
            except BaseException:
                self._done = True
                raise
            self._worker, self._job = worker, job
        try:
            item = await self._job.channel.get()
        except BaseException:
            self._stop()
            raise
        if item is _END:
            self._done = True
            raise StopAsyncIteration
        if isinstance(item, Exception):
            self._done = True
            raise item
        assert isinstance(item, StreamDelta)
        return item

    async def aclose(self) -> None:
        self._stop()

    def _stop(self) -> None:
        if not self._done:
            self._done = True
            if self._worker is not None and self._job is not None:
                self._worker.withdraw(self._job)

    def __del__(self) -> None:
        self._stop()
