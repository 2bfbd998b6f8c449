"""The Rich pieces every `emmaus migrate` command shares: a console on stderr (stdout stays for
data), a progress bar per run, and how problems are printed (plain text: names and ids from the
files are never read as markup)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

console = Console(stderr=True)


def bar(description: str) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
        transient=False,
    )


def say(line: str, style: str | None = None) -> None:
    """One line of plain text (no markup: it may hold ids and titles from a file)."""
    console.print(Text(line, style=style or ""), soft_wrap=True)
