"""`emmaus ingest`: load files, folders or the demo library into a publisher.

Mount with `app.add_typer(ingest.app, name="ingest")`. Every document is committed on its
own, so an interrupted run resumes where it stopped; unchanged files (same bytes) are skipped.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from emmaus.config import get_settings
from emmaus.errors import EmmausError

app = typer.Typer(help="Ingest documents into the content library for grounded answers.")
console = Console()
err_console = Console(stderr=True)


@dataclass
class Tally:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, "
            f"{len(self.failed)} failed"
        )


def discover(paths: Sequence[Path]) -> Iterator[Path]:
    """Supported files under `paths` (recursively, hidden entries skipped), in a stable order."""
    from emmaus.grounding.extract import KINDS

    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and Path(name).suffix.lower() in KINDS:
                        yield Path(root) / name
        elif path.is_file():
            yield path
        else:
            raise typer.BadParameter(f"{path} does not exist")


def source_key(path: Path) -> str:
    """The document's key: the path relative to the working directory when inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}"),
        console=console,
    )


async def _run(
    publisher_name: str,
    owner: str | None,
    files: list[Path],
    demo_books: list[str] | None,
    demo: bool,
) -> Tally:
    from emmaus.grounding import Library
    from emmaus.grounding.demo import chapters
    from emmaus.store import Database, upgrade_database

    settings = get_settings()
    db = Database.from_settings(settings)
    tally = Tally()
    try:
        if settings.auto_migrate:
            await upgrade_database(db)
        library = Library(db)
        publisher = await library.publisher(publisher_name, owner, create=True)
        assert publisher is not None
        with _progress() as progress:
            if demo:
                items = list(chapters(demo_books))
                task = progress.add_task("KJV", total=len(items), current="")
                for chapter in items:
                    progress.update(task, current=chapter.title)
                    doc, digest, size = chapter.document()
                    result = await library.ingest_text(publisher, chapter.source, doc, digest, size)
                    tally.count(result.status)
                    progress.advance(task)
            task = progress.add_task("files", total=len(files), current="", visible=bool(files))
            for path in files:
                key = source_key(path)
                progress.update(task, current=key)
                try:
                    data = await asyncio.to_thread(path.read_bytes)
                    result = await library.ingest(publisher, key, data)
                    tally.count(result.status)
                except (OSError, EmmausError) as exc:
                    tally.failed.append((key, getattr(exc, "message", str(exc))))
                progress.advance(task)
    finally:
        await db.aclose()
    return tally


@app.callback(invoke_without_command=True)
def ingest(
    paths: Annotated[
        Optional[list[Path]],  # noqa: UP045 (Typer needs Optional here)
        typer.Argument(help="Files or folders (.txt, .md, .html, .pdf)", show_default=False),
    ] = None,
    publisher: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--publisher", "-p", help="Publisher name (default: GlooGrounded for --demo)"),
    ] = None,
    client: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Owner client id; omit for a shared publisher every client can read"),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Ingest the demo library (KJV)")] = False,
    books: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Demo books, comma-separated, or 'all' (default: a selection)"),
    ] = None,
) -> None:
    """Ingest documents into a publisher: `emmaus ingest --publisher NAME PATH...`."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from emmaus.grounding.demo import DEMO_BOOKS, DEMO_PUBLISHER, DemoUnavailable
    from emmaus.store import database_url_for

    files = list(discover(paths or []))
    if not demo and not paths:
        raise typer.BadParameter("give files or folders to ingest, or --demo")
    if publisher is None:
        if not demo:
            raise typer.BadParameter("--publisher is required")
        publisher = DEMO_PUBLISHER
    demo_books: list[str] | None = list(DEMO_BOOKS)
    if books == "all":
        demo_books = None
    elif books:
        demo_books = [b.strip() for b in books.split(",") if b.strip()]
    try:
        tally = asyncio.run(_run(publisher, client, files, demo_books, demo))
    except (DemoUnavailable, EmmausError) as exc:
        err_console.print(f"[red]ingest failed:[/red] {exc}")
        raise typer.Exit(1) from exc
    except (OSError, SQLAlchemyError) as exc:  # the database is unreachable or refuses us
        where = make_url(database_url_for(get_settings())).render_as_string(hide_password=True)
        reason = getattr(exc, "orig", None) or exc
        err_console.print(f"[red]cannot use the database[/red] {where}: {reason}")
        raise typer.Exit(1) from exc
    for key, reason in tally.failed:
        err_console.print(f"[yellow]skipped[/yellow] {key}: {reason}")
    console.print(f"[bold]{publisher}[/bold]: {tally.summary()}")
    if tally.failed:
        raise typer.Exit(1)
