"""Prometheus' multiprocess mode for `emmaus serve --workers N`: one directory of value files
shared by the workers, set up before they start and removed when the server stops.

Each worker writes its own files (`counter_<pid>.db`, ...); a scrape reads them all and sums,
so whichever worker answers `/metrics`, the numbers are the whole server's. A worker that
stops cleanly removes its live gauges (`mark_dead`); one that was killed is noticed at the next
scrape (`prune_dead`), so `emmaus_streams_in_flight` never counts a dead worker's streams."""

from __future__ import annotations

import glob
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
_LIVE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def directory() -> str | None:
    """The shared directory when this process runs in multiprocess mode."""
    return os.environ.get(ENV) or None


@contextmanager
def shared_directory(needed: bool) -> Iterator[str | None]:
    """Set `PROMETHEUS_MULTIPROC_DIR` for the workers about to start (when `needed`), emptied
    first (values of a previous run would add up with this one's), and remove what we created
    when the block ends. A directory the operator set is emptied but kept."""
    given = directory()
    if given is not None:
        Path(given).mkdir(parents=True, exist_ok=True)
        _empty(given)
        yield given
        return
    if not needed:
        yield None
        return
    path = tempfile.mkdtemp(prefix="emmaus-metrics-")
    os.environ[ENV] = path
    try:
        yield path
    finally:
        os.environ.pop(ENV, None)
        shutil.rmtree(path, ignore_errors=True)


def _empty(path: str) -> None:
    for name in glob.glob(os.path.join(path, "*.db")):
        os.remove(name)


def mark_dead(pid: int | None = None) -> None:
    """This worker (or `pid`) is gone: drop its live gauges."""
    path = directory()
    if path is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid or os.getpid(), path)


def prune_dead() -> None:
    """Drop the live gauges of workers that died without saying so (SIGKILL, OOM)."""
    path = directory()
    if path is None:
        return
    for name in os.listdir(path):
        found = _LIVE_FILE.match(name)
        if found is not None and not _alive(int(found.group(1))):
            mark_dead(int(found.group(1)))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
