"""What the README's Troubleshooting section says a new user will see is what they see: a port
in use is named, and an unreachable database is one line naming it (password hidden) from both
commands of `make run`, not a traceback. (A wrong secret: `test_readme_tour.py`.)"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from tests.docs.readme import README, link_venv
from tests.docs.served import plain_environment

UNREACHABLE = "postgresql://emmaus:hunter2-secret@127.0.0.1:1/emmaus"


def _emmaus(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [".venv/bin/emmaus", *args],
        cwd=link_venv(workdir),
        env={**plain_environment(), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _troubleshooting() -> str:
    text = README.read_text()
    start = text.index("\n## Troubleshooting\n")
    return text[start : text.index("\n## ", start + 1)]


def test_a_port_in_use_is_named(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = _emmaus(tmp_path, "serve", "--port", str(port))
    assert done.returncode != 0
    assert "[Errno 98]" in done.stderr and "address already in use" in done.stderr
    assert "[Errno 98] ... address already in use" in _troubleshooting()


def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    for command in (["ingest", "--demo", "--books", "Ruth"], ["serve"]):
        done = _emmaus(tmp_path, *command, EMMAUS_DATABASE_URL=UNREACHABLE)
        said = " ".join((done.stdout + done.stderr).split())
        assert done.returncode != 0, command
        assert "Traceback" not in said and "hunter2-secret" not in said
        assert "cannot use the database postgresql+asyncpg://emmaus:***@127.0.0.1:1/emmaus" in said
        assert "Connect call failed" in said
    assert "cannot use the database" in _troubleshooting()


def test_an_unreachable_redis_stops_the_start(tmp_path: Path) -> None:
    done = _emmaus(tmp_path, "serve", "--port", "1", EMMAUS_REDIS_URL="redis://127.0.0.1:1/0")
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Traceback" not in said
    assert "cannot reach Redis redis://127.0.0.1:1/0: Error 111 connecting to 127.0.0.1:1." in said
    assert "cannot reach Redis" in _troubleshooting()
