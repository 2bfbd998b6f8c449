"""The local model's worker thread: FIFO order, bounded queue, withdrawal, shutdown. Jobs here
are small implementations of the worker's `Job` protocol; the real generation job is exercised
against the embedded model in test_local_provider.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emmaus.engine.providers.local.worker import ModelWorker
from emmaus.errors import ProviderOverloaded, ProviderUnavailable


class _Model:
    closed = False

    def close(self) -> None:
        self.closed = True


class RecordingJob:
    def __init__(self, log: list[str], name: str, *, block: bool = False) -> None:
        self.cancelled = False
        self.name = name
        self.log = log
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.errors: list[Exception] = []
        if not block:
            self.release.set()

    def run(self, model: Any) -> None:
        self.log.append(self.name)
        self.started.set()
        self.release.wait(10)
        self.finished.set()

    def fail(self, error: Exception) -> None:
        self.errors.append(error)
        self.finished.set()


@pytest.fixture
def worker() -> Iterator[ModelWorker]:
    model = _Model()
    worker = ModelWorker("test", lambda: model, queue_size=2)
    yield worker
    worker.close(timeout=5)


def test_jobs_run_in_arrival_order(worker: ModelWorker) -> None:
    log: list[str] = []
    gate = RecordingJob(log, "gate", block=True)
    worker.submit(gate)
    assert gate.started.wait(5)
    later = [RecordingJob(log, name) for name in ("a", "b")]
    for job in later:
        worker.submit(job)
    gate.release.set()
    assert all(job.finished.wait(5) for job in later)
    assert log == ["gate", "a", "b"]


def test_full_queue_raises_overloaded_with_a_retry_estimate(worker: ModelWorker) -> None:
    log: list[str] = []
    gate = RecordingJob(log, "gate", block=True)
    worker.submit(gate)
    assert gate.started.wait(5)
    worker.submit(RecordingJob(log, "a"))
    worker.submit(RecordingJob(log, "b"))
    with pytest.raises(ProviderOverloaded) as info:
        worker.submit(RecordingJob(log, "c"))
    assert info.value.status == 503
    assert info.value.retry_after is not None and info.value.retry_after >= 1
    gate.release.set()


def test_withdrawn_job_never_runs_and_frees_its_place(worker: ModelWorker) -> None:
    log: list[str] = []
    gate = RecordingJob(log, "gate", block=True)
    worker.submit(gate)
    assert gate.started.wait(5)
    dropped, kept = RecordingJob(log, "dropped"), RecordingJob(log, "kept")
    worker.submit(dropped)
    worker.submit(kept)
    worker.withdraw(dropped)
    assert worker.waiting == 1
    worker.submit(RecordingJob(log, "newcomer"))  # the freed place is usable at once
    gate.release.set()
    assert kept.finished.wait(5)
    assert "dropped" not in log


def test_a_failing_job_reports_and_the_thread_carries_on(worker: ModelWorker) -> None:
    class Boom(RecordingJob):
        def run(self, model: Any) -> None:
            raise RuntimeError("boom")

    log: list[str] = []
    broken, after = Boom(log, "broken"), RecordingJob(log, "after")
    worker.submit(broken)
    worker.submit(after)
    assert broken.finished.wait(5) and after.finished.wait(5)
    assert str(broken.errors[0]) == "boom"


def test_close_fails_waiting_jobs_and_cancels_the_running_one() -> None:
    model = _Model()
    worker = ModelWorker("test", lambda: model, queue_size=4)
    log: list[str] = []
    gate = RecordingJob(log, "gate", block=True)
    worker.submit(gate)
    assert gate.started.wait(5)
    waiting = RecordingJob(log, "waiting")
    worker.submit(waiting)
    closer = threading.Thread(target=worker.close, kwargs={"timeout": 5})
    closer.start()
    assert waiting.finished.wait(5)
    assert isinstance(waiting.errors[0], ProviderUnavailable)
    assert gate.cancelled
    gate.release.set()
    closer.join(5)
    assert model.closed
    with pytest.raises(ProviderUnavailable):
        worker.submit(RecordingJob(log, "late"))
