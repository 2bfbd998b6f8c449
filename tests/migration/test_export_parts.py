"""The export's parts on their own: the waits a server asks for, the backoff, the checkpoint's
recovery from a torn line and its refusal of an output changed behind it, chat id files."""

from __future__ import annotations

import time
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from emmaus.migration.chat_ids import from_file, unique
from emmaus.migration.checkpoint import CheckpointMismatch, ExportCheckpoint
from emmaus.migration.retry import RetryPolicy, server_wait


def response(**headers: str) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_the_wait_the_server_asked_for() -> None:
    assert server_wait(response(**{"Retry-After": "7"})) == 7.0
    in_ten = formatdate(time.time() + 10, usegmt=True)
    assert 8.0 <= (server_wait(response(**{"Retry-After": in_ten})) or 0) <= 10.0
    assert server_wait(response(**{"X-RateLimit-Reset": "3"})) == 3.0  # a delta
    epoch = str(int(time.time()) + 20)
    assert 18.0 <= (server_wait(response(**{"X-RateLimit-Reset": epoch})) or 0) <= 20.0
    assert server_wait(response()) is None
    policy = RetryPolicy(base=1.0, cap=8.0, max_wait=30.0)
    assert policy.delay(0, response(**{"Retry-After": "600"})) == 30.0  # capped
    for attempt, top in ((0, 1.0), (2, 4.0), (9, 8.0)):
        delay = policy.delay(attempt, None)
        assert top / 2 <= delay <= top


def test_checkpoint_cuts_a_torn_line_and_refuses_a_changed_output(tmp_path: Path) -> None:
    output = tmp_path / "chats.jsonl"
    checkpoint = ExportCheckpoint(output)
    assert checkpoint.start() == set()
    with output.open("ab") as out:
        for chat_id in ("c1", "c2"):
            out.write(b'{"chat_id": "%s"}\n' % chat_id.encode())
            out.flush()
            checkpoint.record(chat_id, out.tell())
        out.write(b'{"chat_id": "c3", "messa')  # written, never recorded
    checkpoint.close()
    with checkpoint.path.open("ab") as log:
        log.write(b'{"chat_id": "c')  # the log itself torn
    again = ExportCheckpoint(output)
    assert again.start() == {"c1", "c2"}
    assert output.read_bytes().splitlines() == [b'{"chat_id": "c1"}', b'{"chat_id": "c2"}']
    again.record("c3", output.stat().st_size)  # logged after the torn entry, readable
    again.close()
    assert ExportCheckpoint(output).read()[0] == {"c1", "c2", "c3"}
    output.write_bytes(b"")  # emptied by hand: the checkpoint no longer describes it
    with pytest.raises(CheckpointMismatch):
        ExportCheckpoint(output).start()
    fresh = ExportCheckpoint(output)
    assert fresh.start(fresh=True) == set()
    fresh.close()


def test_chat_ids_from_a_file(tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("c1\n\n# archived below\nc2  # the pilot group\nc1\n")
    assert unique(from_file(ids)) == ["c1", "c2"]
