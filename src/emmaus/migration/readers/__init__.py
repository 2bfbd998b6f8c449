"""Reading a source file: JSON lines (one chat a line: `emmaus migrate export`'s files) or one
JSON document (a list of chats, or one chat), in any of the formats of `emmaus.migration.source.
FORMATS`, told by `--format` or recognised from the first chat."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from emmaus.migration.readers.assistants import read_assistants
from emmaus.migration.readers.chatgpt import read_chatgpt
from emmaus.migration.readers.openwebui import read_openwebui
from emmaus.migration.readers.v1 import read_v1
from emmaus.migration.source import SourceChat, SourceError

READERS: dict[str, Callable[[Any], SourceChat]] = {
    "v1": read_v1,
    "chatgpt": read_chatgpt,
    "openwebui": read_openwebui,
    "assistants": read_assistants,
}


def recognise(record: Any) -> str:
    """The format of one chat record."""
    if isinstance(record, dict):
        if isinstance(record.get("mapping"), dict):
            return "chatgpt"
        if isinstance(record.get("chat"), dict) and "history" in record["chat"]:
            return "openwebui"
        if isinstance(record.get("thread"), dict):
            return "assistants"
        if isinstance(record.get("messages"), list):
            return "v1"
    raise SourceError("cannot tell the format (v1, chatgpt, openwebui, assistants): pass --format")


@dataclass(slots=True)
class Entry:
    """One chat of the file: where it is (a line, or an index of the list, from 1), its record
    as parsed, and the chat read from it, or why it could not be read."""

    position: int
    record: Any
    chat: SourceChat | None = None
    error: str | None = None


MAX_ID = 200  # the stores keep source ids in 255 characters, with a format prefix


def _stored_as(chat: SourceChat) -> SourceChat:
    """The chat as a database can hold it: ids that fit, no NUL in text (PostgreSQL refuses
    it; the replacement is said, and verify compares the same text)."""
    too_long = [m.source_id for m in chat.messages if len(m.source_id) > MAX_ID]
    if len(chat.source_id) > MAX_ID or too_long:
        raise SourceError(
            f"an id longer than {MAX_ID} characters: {(too_long or [chat.source_id])[0][:40]}..."
        )
    for message in chat.messages:
        if "\x00" in message.content:
            message.content = message.content.replace("\x00", "\ufffd")
            chat.problems.append(f"message {message.source_id}: NUL characters replaced")
    if chat.title and "\x00" in chat.title:
        chat.title = chat.title.replace("\x00", "\ufffd")
    return chat


class SourceFile:
    def __init__(self, path: Path, fmt: str | None = None) -> None:
        self.path = path
        with path.open("rb") as handle:
            head = handle.read(1 << 16).lstrip()
        self._document: list[Any] | None = None
        if head.startswith(b"["):
            loaded = orjson.loads(path.read_bytes())
            self._document = loaded
        elif head.startswith(b"{") and not self._is_json_lines():
            self._document = [orjson.loads(path.read_bytes())]
        elif head and not head.startswith(b"{"):
            raise SourceError(f"{path}: neither JSON nor JSON lines")
        self.format = fmt or self._recognise()
        if self.format not in READERS:
            raise SourceError(f"unknown format {self.format!r}: one of {', '.join(READERS)}")

    def _is_json_lines(self) -> bool:
        with self.path.open("rb") as handle:
            first = handle.readline()
            second = handle.readline()
        if not second.strip():
            return False
        try:
            orjson.loads(first)
        except orjson.JSONDecodeError:
            return False  # one document over several lines
        return True

    def _raw(self) -> Iterator[tuple[int, Any, str | None]]:
        if self._document is not None:
            for index, record in enumerate(self._document, start=1):
                yield index, record, None
            return
        with self.path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, orjson.loads(line), None
                except orjson.JSONDecodeError as exc:
                    yield number, None, f"not JSON: {exc}"

    def _recognise(self) -> str:
        for _, record, error in self._raw():
            if error is None:
                return recognise(record)
        raise SourceError(f"{self.path}: no chat in it")

    def __len__(self) -> int:
        if self._document is not None:
            return len(self._document)
        with self.path.open("rb") as handle:  # counted, not parsed: a progress bar's total
            return sum(1 for line in handle if line.strip())

    def __iter__(self) -> Iterator[Entry]:
        reader = READERS[self.format]
        for position, record, error in self._raw():
            entry = Entry(position, record, error=error)
            if error is None:
                try:
                    entry.chat = _stored_as(reader(record))
                except (ValueError, TypeError, AttributeError, KeyError) as exc:
                    # SourceError is a ValueError; the others come from shapes no reader expects.
                    known = isinstance(exc, SourceError)
                    entry.error = str(exc) if known else f"unreadable: {exc!r}"
            yield entry

    def where(self, entry: Entry) -> str:
        return f"line {entry.position}" if self._document is None else f"chat #{entry.position}"
