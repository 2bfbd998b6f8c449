"""Tables that fit the terminal: when a table is wider than the console, the columns a reader
needs least are left out (and named under it) until it fits, and Rich wraps what is left;
`--wide` prints every column at its natural width instead."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    drop: int = 0  # 0: always shown; the highest number is left out first
    justify: Literal["left", "right"] = "left"
    no_wrap: bool = False  # ids must stay copyable on one line


def _table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    keep: Sequence[int],
    title: str | None,
    bold_last: bool,
) -> Table:
    table = Table(title=title)
    for index in keep:
        column = columns[index]
        table.add_column(column.header, justify=column.justify, no_wrap=column.no_wrap)
    for number, row in enumerate(rows, start=1):
        style = "bold" if bold_last and number == len(rows) else None
        # Text, not markup: a client's name or a model id is shown as it is.
        table.add_row(*(Text(row[index]) for index in keep), style=style)
    return table


def _natural_width(console: Console, table: Table) -> int:
    options = console.options.update(max_width=10**6)
    return Measurement.get(console, options, table).maximum


def print_table(
    console: Console,
    columns: Sequence[Column],
    rows: Sequence[Sequence[str]],
    *,
    wide: bool = False,
    title: str | None = None,
    bold_last: bool = False,
) -> None:
    """`rows` of plain text (never read as markup); `bold_last`: the last row is a total."""
    keep = list(range(len(columns)))
    if wide:
        table = _table(columns, rows, keep, title, bold_last)
        width = console.width
        console.width = max(width, _natural_width(console, table))  # print clamps to it
        try:
            console.print(table)
        finally:
            console.width = width
        return
    table = _table(columns, rows, keep, title, bold_last)
    while _natural_width(console, table) > console.width:
        droppable = [i for i in keep if columns[i].drop > 0]
        if not droppable:
            break  # Rich wraps the cells of what is left
        keep.remove(max(droppable, key=lambda i: (columns[i].drop, i)))
        table = _table(columns, rows, keep, title, bold_last)
    console.print(table)
    hidden = [column.header for index, column in enumerate(columns) if index not in keep]
    if hidden:
        console.print(f"[dim]hidden: {', '.join(hidden)} (--wide shows all)[/dim]")
