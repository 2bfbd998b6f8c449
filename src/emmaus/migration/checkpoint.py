"""The checkpoint of an export: an append-only log beside the output file, one JSON line per
chat written, with the output's size once that chat's line was on disk. A rerun skips the chats
logged and cuts the output back to the last logged size, so a line torn by a crash (or written
but not yet logged) is written again, once. One line per chat keeps each step O(1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

import orjson


class CheckpointMismatch(Exception):
    """The output is shorter than the checkpoint says: it was changed since (start afresh)."""


class ExportCheckpoint:
    def __init__(self, output: Path, path: Path | None = None) -> None:
        self.output = output
        self.path = path or output.with_name(output.name + ".checkpoint")
        self.done: set[str] = set()
        self._log: IO[bytes] | None = None

    def start(self, *, fresh: bool = False) -> set[str]:
        """The chat ids already exported (none when `fresh`), the output ready for appending."""
        if fresh:
            self.path.unlink(missing_ok=True)
            self.output.write_bytes(b"")
        self.done, size, sound = self._read()
        if self.path.exists() and self.path.stat().st_size > sound:
            with self.path.open("r+b") as log:
                log.truncate(sound)  # a torn last entry: the next one starts on its own line
        if self.output.exists():
            actual = self.output.stat().st_size
            if actual < size:
                raise CheckpointMismatch(
                    f"{self.output} has {actual} bytes, the checkpoint {self.path} expects "
                    f"{size}: it was changed since; rerun with --fresh"
                )
            if actual > size:
                with self.output.open("r+b") as handle:
                    handle.truncate(size)
        else:
            self.output.write_bytes(b"")
            self.done.clear()
        self._log = self.path.open("ab")
        return set(self.done)

    def read(self) -> tuple[set[str], int]:
        """The chat ids logged and the output size after the last of them (nothing changed)."""
        done, size, _ = self._read()
        return done, size

    def _read(self) -> tuple[set[str], int, int]:
        """(chat ids, output size, length of the log's sound part)."""
        done: set[str] = set()
        size = sound = 0
        if self.path.exists():
            for line in self.path.read_bytes().splitlines(keepends=True):
                try:
                    if not line.endswith(b"\n"):
                        raise ValueError("torn")
                    entry = orjson.loads(line)
                    chat_id, size_after = str(entry["chat_id"]), int(entry["bytes"])
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    break  # torn by a crash: nothing after it was written
                done.add(chat_id)
                size = size_after
                sound += len(line)
        return done, size, sound

    def record(self, chat_id: str, size: int) -> None:
        assert self._log is not None, "start() first"
        self._log.write(orjson.dumps({"chat_id": chat_id, "bytes": size}) + b"\n")
        self._log.flush()
        os.fsync(self._log.fileno())
        self.done.add(chat_id)

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
