"""`emmaus migrate validate` (a file on its own) and `emmaus migrate verify` (a file against what
was imported): each problem by chat, a summary, a non-zero exit on any."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from emmaus.cli.migrate.importing import (
    DatabaseOption,
    FormatOption,
    OwnersOption,
    TargetOption,
    open_source,
)
from emmaus.cli.migrate.progress import bar, say
from emmaus.cli.migrate.targets import open_target
from emmaus.migration.validation import Validator
from emmaus.migration.verify import Verification, record

SourceArgument = Annotated[Path, typer.Argument(help="An export file (JSON lines or JSON)")]


def validate(source: SourceArgument, fmt: FormatOption = "auto") -> None:
    """Check an export before importing it; exits non-zero on any problem.

    Schema, time order, question/answer pairs, duplicate ids, broken trees. Reads the file
    only."""
    file = open_source(source, fmt)
    validator = Validator(file)
    with bar("validate") as progress:
        task = progress.add_task("validate", total=len(file), note="")
        for entry in file:
            validator.check(entry)
            progress.update(task, advance=1)
    report = validator.report
    for problem in report.problems:
        say(f"{problem.where} chat {problem.chat or '?'}: {problem.message}", "red")
    chats_with = len({(p.where, p.chat) for p in report.problems})
    say(
        f"{report.chats} chats, {report.messages} messages ({report.format}): "
        + (f"{len(report.problems)} problems in {chats_with} chats" if report.problems else "ok")
    )
    if not report.ok:
        raise typer.Exit(1)


def verify(
    source: SourceArgument,
    client: Annotated[str, typer.Option(help="The client (sdk: user id) the chats belong to")],
    fmt: FormatOption = "auto",
    target: TargetOption = "emmaus",
    database_url: DatabaseOption = None,
    owners_sql: OwnersOption = None,
) -> None:
    """Compare an export with what was imported, chat by chat; exits non-zero on a mismatch.

    Message counts, order, a content hash per message, parents and the active branch. Reads
    only."""
    file = open_source(source, fmt)
    result = Verification()
    unreadable: list[str] = []

    async def run() -> None:
        store = await open_target(target, client, database_url, write=False, owners_sql=owners_sql)
        try:
            with bar("verify") as progress:
                task = progress.add_task("verify", total=len(file), note="")
                for entry in file:
                    progress.update(task, advance=1)
                    if entry.chat is None:
                        unreadable.append(f"{file.where(entry)}: {entry.error}")
                        continue
                    record(result, entry.chat, await store.stored_chat(entry.chat))
        finally:
            await store.aclose()

    asyncio.run(run())
    for line in unreadable:
        say(line, "red")
    for mismatch in result.mismatches:
        about = f" message {mismatch.message}" if mismatch.message else ""
        say(f"chat {mismatch.chat}{about}: {mismatch.text}", "red")
    say(
        f"{result.chats} chats, {result.messages} messages: {result.matching} match, "
        f"{result.chats - result.matching} differ ({len(result.mismatches)} mismatches)"
        + (f", {len(unreadable)} unreadable" if unreadable else "")
    )
    if result.mismatches or unreadable:
        raise typer.Exit(1)
