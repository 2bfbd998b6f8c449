"""Labelled routing data: JSONL rows of a conversation and its tier. Two forms per line:

    {"id": "...", "messages": [{"role": "user", "content": "..."}, ...], "tier": 2, "note": "..."}
    {"query": "...", "tier": 1}

`tier` may also be written "tier_2". Blank lines and lines starting with '#' are skipped."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emmaus.engine.types import Message

_ROLES = frozenset({"system", "user", "assistant", "tool"})


class DataError(ValueError):
    """A labelled file has a line that is not a valid row."""


@dataclass(frozen=True, slots=True)
class LabelledRow:
    id: str
    messages: tuple[Message, ...]
    tier: int
    note: str = ""

    @property
    def query(self) -> str:
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content or ""
        return ""


def _tier(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().lower().startswith("tier_"):
        value = value.strip()[5:]
    try:
        tier = int(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: tier must be 1, 2 or 3, not {value!r}") from exc
    if tier not in (1, 2, 3) or (isinstance(value, float) and value != tier):
        raise DataError(f"{where}: tier must be 1, 2 or 3, not {value!r}")
    return tier


def parse_row(obj: Any, where: str = "<row>") -> LabelledRow:
    if not isinstance(obj, dict):
        raise DataError(f"{where}: expected a JSON object")
    tier = _tier(obj.get("tier"), where)
    row_id = str(obj.get("id", where))
    note = str(obj.get("note", "") or "")
    if "messages" in obj:
        raw = obj["messages"]
        if not isinstance(raw, list) or not raw:
            raise DataError(f"{where}: messages must be a non-empty list")
        messages = []
        for item in raw:
            if not isinstance(item, dict) or item.get("role") not in _ROLES:
                raise DataError(f"{where}: each message needs a role in {sorted(_ROLES)}")
            content = item.get("content")
            messages.append(Message(item["role"], None if content is None else str(content)))
        return LabelledRow(row_id, tuple(messages), tier, note)
    query = obj.get("query")
    if not isinstance(query, str):
        raise DataError(f"{where}: a row needs 'messages' or a 'query' string")
    return LabelledRow(row_id, (Message("user", query),), tier, note)


def parse_lines(lines: Iterable[str], origin: str = "<data>") -> list[LabelledRow]:
    rows = []
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{origin}:{number}"
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: not JSON: {exc}") from exc
        rows.append(parse_row(obj, where))
    return rows


def load_rows(path: str | Path) -> list[LabelledRow]:
    target = Path(path)
    try:
        with target.open(encoding="utf-8") as handle:
            return parse_lines(handle, origin=str(target))
    except OSError as exc:
        raise DataError(f"cannot read {target}: {exc}") from exc
