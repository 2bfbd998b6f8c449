"""The labelled rows: `datasets/safety/{train,dev,heldout}.jsonl`, one JSON object a line:
{"id", "text", "context": [earlier user messages, oldest first], "labels": [...], "note"}."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from emmaus.engine.safety.verdict import CATEGORIES


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    text: str
    context: tuple[str, ...] = ()
    labels: frozenset[str] = frozenset()
    note: str = ""


def read_rows(path: Path) -> list[Row]:
    """Rows of a JSONL file; a last line still being written (not valid JSON) is skipped."""
    rows: list[Row] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        labels = frozenset(data.get("labels") or ())
        unknown = labels - set(CATEGORIES)
        if unknown:
            raise ValueError(f"{path}:{number}: unknown labels {sorted(unknown)}")
        rows.append(
            Row(
                id=str(data.get("id", number)),
                text=str(data.get("text") or ""),
                context=tuple(str(t) for t in data.get("context") or ()),
                labels=labels,
                note=str(data.get("note") or ""),
            )
        )
    return rows


ORDINARY = "ordinary-"  # the id prefix of everyday rows


def ordinary_rows(path: Path) -> list[Row]:
    """Everyday requests as benign rows: the routing data's conversations (`{"messages": [...]}`,
    written for routing, no crisis and no harm in them), so the model also learns what ordinary
    traffic looks like, not only hard negatives that share crisis words."""
    rows: list[Row] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        data = json.loads(line)
        turns = [m["content"] for m in data.get("messages", []) if m.get("role") == "user"]
        if turns:
            rows.append(
                Row(
                    id=f"ordinary-{path.stem}-{number}",
                    text=turns[-1],
                    context=tuple(turns[:-1][-4:]),
                )
            )
    return rows
