"""One worker thread per model file. A llama.cpp context is not thread-safe, so every call on a
model runs on its thread, one request at a time, in arrival order (FIFO, hence fair). A bounded
number of requests may wait; past that, callers get `ProviderOverloaded` with a retry estimate."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from emmaus.errors import ProviderOverloaded, ProviderUnavailable

if TYPE_CHECKING:
    from emmaus.engine.providers.local.model import LoadedModel

log = logging.getLogger(__name__)

_EWMA_WEIGHT = 0.2  # of the newest run in the average run time
_INITIAL_RUN_SECONDS = 2.0


class Job(Protocol):
    """Work for the thread. `run` must deliver its own result or error to whoever waits."""

    cancelled: bool

    def run(self, model: LoadedModel) -> None: ...

    def fail(self, error: Exception) -> None: ...


class ModelWorker:
    def __init__(self, name: str, loader: Callable[[], LoadedModel], *, queue_size: int) -> None:
        self.name = name
        self._loader = loader
        self._queue_size = queue_size
        self._waiting: deque[Job] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._running: Job | None = None
        self._model: LoadedModel | None = None
        self._avg_run = _INITIAL_RUN_SECONDS

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def busy(self) -> bool:
        return self._running is not None

    def retry_after(self) -> float:
        """Seconds until the requests ahead are likely done: the queue drains at about one
        request per average run time."""
        ahead = len(self._waiting) + (1 if self._running is not None else 0)
        return float(max(1, math.ceil(ahead * self._avg_run)))

    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closing:
                raise ProviderUnavailable(f"local model {self.name} is shutting down")
            if len(self._waiting) >= self._queue_size:
                raise ProviderOverloaded(
                    f"local model {self.name} is busy: {len(self._waiting)} requests waiting",
                    retry_after=self.retry_after(),
                )
            self._waiting.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name=f"emmaus-local-{self.name}", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def withdraw(self, job: Job) -> None:
        """A cancelled job still waiting gives its place back at once (and will never run)."""
        job.cancelled = True
        with self._cond, contextlib.suppress(ValueError):  # already running or done
            self._waiting.remove(job)

    def close(self, timeout: float = 30.0) -> None:
        """Stops the thread: waiting jobs fail, the running one is cancelled. Blocking."""
        with self._cond:
            self._closing = True
            dropped = list(self._waiting)
            self._waiting.clear()
            if self._running is not None:
                self._running.cancelled = True
            self._cond.notify_all()
            thread = self._thread
        for job in dropped:
            job.cancelled = True
            job.fail(ProviderUnavailable(f"local model {self.name} is shutting down"))
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():  # still inside llama.cpp: freeing the model now would crash
                log.warning("local model %s: worker did not stop within %ss", self.name, timeout)
                return
        if self._model is not None:
            self._model.close()
            self._model = None

    def _next(self) -> Job | None:
        with self._cond:
            while not self._waiting and not self._closing:
                self._cond.wait()
            if self._closing:
                return None
            job = self._waiting.popleft()
            self._running = job
            return job

    def _serve(self) -> None:
        while (job := self._next()) is not None:
            started = time.monotonic()
            try:
                if not job.cancelled:
                    job.run(self._load())
            except Exception as exc:  # a job must never kill the thread
                try:
                    job.fail(exc)
                except Exception:
                    log.exception("local model %s: could not report a failure", self.name)
            finally:
                with self._cond:
                    self._running = None
                if not job.cancelled:
                    spent = time.monotonic() - started
                    self._avg_run += _EWMA_WEIGHT * (spent - self._avg_run)

    def _load(self) -> LoadedModel:
        if self._model is None:
            self._model = self._loader()
        return self._model
