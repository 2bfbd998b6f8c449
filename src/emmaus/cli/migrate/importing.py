"""`emmaus migrate import`: chats from a v1 export, ChatGPT, Open WebUI or OpenAI Assistants into
Emmaus' store or the SDK's database; a second run of the same file writes nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Annotated, Optional

import typer

from emmaus.cli.migrate.progress import bar, say
from emmaus.cli.migrate.targets import open_target
from emmaus.migration.readers import SourceFile
from emmaus.migration.source import SourceError
from emmaus.migration.target import APPENDED, CONFLICT, CREATED, UNCHANGED

FormatOption = Annotated[
    str, typer.Option("--format", help="auto, v1, chatgpt, openwebui or assistants")
]
TargetOption = Annotated[
    str, typer.Option(help="emmaus (this server's store) or sdk (emmaus-client's tables)")
]
DatabaseOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(help="The target database (default for emmaus: the configured one)"),
]
OwnersOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option(
        help="sdk: a query on that database giving (source chat id, user id) rows: each "
        "chat's owner (others: --client)"
    ),
]


def open_source(path: Path, fmt: str) -> SourceFile:
    try:
        return SourceFile(path, None if fmt == "auto" else fmt)
    except (SourceError, OSError) as exc:
        raise typer.BadParameter(str(exc)) from exc


def import_(
    source: Annotated[Path, typer.Argument(help="An export file (JSON lines or JSON)")],
    client: Annotated[
        str, typer.Option(help="Who the chats will belong to: an Emmaus client id (sdk: user id)")
    ],
    fmt: FormatOption = "auto",
    target: TargetOption = "emmaus",
    database_url: DatabaseOption = None,
    skip_existing: Annotated[
        bool, typer.Option(help="Leave chats already imported as they are (add nothing to them)")
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Say what would be written; write nothing")] = False,
    owners_sql: OwnersOption = None,
) -> None:
    """Import an export into Emmaus' store or the SDK's tables, with its branches.

    The chats belong to --client. Source ids are recorded: importing again writes only what is
    new."""
    file = open_source(source, fmt)
    counts: Counter[str] = Counter()
    added = 0
    problems: list[str] = []

    async def run() -> None:
        nonlocal added
        store = await open_target(
            target, client, database_url, write=not dry_run, owners_sql=owners_sql
        )
        try:
            with bar("import" + (" (dry run)" if dry_run else "")) as progress:
                task = progress.add_task("import", total=len(file), note="")
                for entry in file:
                    progress.update(task, advance=1)
                    if entry.chat is None:
                        counts["unreadable"] += 1
                        problems.append(f"{file.where(entry)}: {entry.error}")
                        continue
                    outcome = await store.import_chat(
                        entry.chat, dry_run=dry_run, append=not skip_existing
                    )
                    counts[outcome.status] += 1
                    added += outcome.added
                    if outcome.status == CONFLICT:
                        problems.append(f"{entry.chat.source_id}: {outcome.detail}")
        finally:
            await store.aclose()

    asyncio.run(run())
    for problem in problems:
        say(problem, "red")
    verb = "would import" if dry_run else "imported"
    parts = [f"{verb} {counts[CREATED]} chats"]
    if counts[APPENDED]:
        parts.append(f"added new messages to {counts[APPENDED]}")
    parts.append(f"{added} messages")
    if counts[UNCHANGED]:
        parts.append(f"skipped {counts[UNCHANGED]} already imported")
    if counts[CONFLICT]:
        parts.append(f"{counts[CONFLICT]} conflicts")
    if counts["unreadable"]:
        parts.append(f"{counts['unreadable']} unreadable")
    say(", ".join(parts) + f" ({file.format})")
    if problems:
        raise typer.Exit(1)
