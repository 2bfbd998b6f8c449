"""`emmaus migrate export`: chat histories from a v1 endpoint into a JSON lines file, resumable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import orjson
import typer

from emmaus.cli.migrate.progress import bar, console, say
from emmaus.migration import chat_ids
from emmaus.migration.checkpoint import CheckpointMismatch, ExportCheckpoint
from emmaus.migration.export import GLOO, ExportAuthError, V1Exporter
from emmaus.migration.retry import RetryPolicy


def _ids(
    chat_ids_: list[str] | None, ids_file: Path | None, sql: str | None, database_url: str | None
) -> list[str]:
    ids = list(chat_ids_ or [])
    if ids_file is not None:
        ids += chat_ids.from_file(ids_file)
    if sql is not None:
        if not database_url:
            raise typer.BadParameter("--sql needs --database-url (the application's database)")
        ids += chat_ids.from_sql(database_url, sql)
    ids = chat_ids.unique(ids)
    if not ids:
        raise typer.BadParameter("no chat ids: pass them as arguments, --ids-file or --sql")
    return ids


def export(
    chat_ids_: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Argument(metavar="[CHAT_IDS]...", help="Chat ids to export"),
    ] = None,
    url: Annotated[str, typer.Option(help="API base URL (Gloo or an Emmaus)")] = GLOO,
    client_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(envvar="GLOO_CLIENT_ID", help="OAuth2 client id"),
    ] = None,
    client_secret: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(envvar="GLOO_CLIENT_SECRET", help="OAuth2 client secret"),
    ] = None,
    ids_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="A file of chat ids, one a line"),
    ] = None,
    sql: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="A query whose first column is the chat ids (with --database-url)"),
    ] = None,
    database_url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="The application's own database, for --sql"),
    ] = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="JSON lines file (default: stdout, not resumable)"),
    ] = None,
    tree: Annotated[
        bool, typer.Option(help="Every branch (`tree=true`; Emmaus sources only)")
    ] = False,
    retries: Annotated[int, typer.Option(min=0, help="Retries per chat (429, 5xx, ...)")] = 5,
    backoff: Annotated[float, typer.Option(min=0, help="First backoff, in seconds")] = 0.5,
    max_wait: Annotated[
        float, typer.Option(min=0, help="Longest wait a server may ask for, in seconds")
    ] = 300.0,
    fresh: Annotated[bool, typer.Option(help="Ignore the checkpoint: start over")] = False,
    dry_run: Annotated[
        bool, typer.Option(help="List what would be exported; call nothing")
    ] = False,
) -> None:
    """Export chat histories from a v1 endpoint (Gloo or an Emmaus), one JSON line each.

    With -o, a checkpoint beside the file (<file>.checkpoint) makes a rerun resume where the
    last one stopped. 429s and 5xx are retried, waiting as the server asks."""
    ids = _ids(chat_ids_, ids_file, sql, database_url)
    checkpoint = ExportCheckpoint(output) if output else None
    done: set[str] = set()
    if dry_run:
        if checkpoint is not None and not fresh:
            done = checkpoint.read()[0] & set(ids)
        todo = [i for i in ids if i not in done]
        say(f"would export {len(todo)} chats ({len(done)} already in {output})")
        for chat_id in todo:
            typer.echo(chat_id)
        return
    if not client_id or not client_secret:
        raise typer.BadParameter("--client-id and --client-secret (or GLOO_CLIENT_*) are needed")
    if checkpoint is not None:
        try:
            done = checkpoint.start(fresh=fresh)
        except CheckpointMismatch as exc:
            raise typer.BadParameter(str(exc)) from exc
        if done & set(ids):
            say(f"resuming: {len(done & set(ids))} chats already in {output}")
    todo = [i for i in ids if i not in done]
    policy = RetryPolicy(retries=retries, base=backoff, max_wait=max_wait)
    try:
        with V1Exporter(url, client_id, client_secret, tree=tree, policy=policy) as exporter:
            failures = _fetch_all(exporter, todo, output, checkpoint)
    except ExportAuthError as exc:
        raise typer.BadParameter(str(exc)) from exc
    finally:
        if checkpoint is not None:
            checkpoint.close()
    for chat_id, error in failures:
        say(f"{chat_id}: {error}", "red")
    exported = len(todo) - len(failures)
    console.print(f"exported {exported} of {len(todo)} chats", highlight=False)
    if failures:
        say("rerun the same command to retry the failed chats (the rest is kept)")
        raise typer.Exit(1)


def _fetch_all(
    exporter: V1Exporter, todo: list[str], output: Path | None, checkpoint: ExportCheckpoint | None
) -> list[tuple[str, str]]:
    """Fetch and write each chat in turn (to `output`, logged in the checkpoint, or to stdout);
    the chats that failed, with why."""
    failures: list[tuple[str, str]] = []
    out = output.open("ab") if output else None
    try:
        with bar("export") as progress:
            task = progress.add_task("export", total=len(todo), note="")

            def waiting(chat_id: str, seconds: float, why: str) -> None:
                progress.update(task, note=f"{why}: waiting {seconds:.1f}s")

            exporter.on_wait = waiting
            exporter.token()
            for chat_id in todo:
                fetched = exporter.fetch(chat_id)
                progress.update(task, advance=1, note="")
                if fetched.record is None:
                    failures.append((chat_id, fetched.error or "failed"))
                    continue
                line = orjson.dumps(fetched.record) + b"\n"
                if out is None:
                    typer.echo(line.decode(), nl=False)
                    continue
                out.write(line)
                out.flush()
                os.fsync(out.fileno())  # on disk before the checkpoint says so
                if checkpoint is not None:
                    checkpoint.record(chat_id, out.tell())
    finally:
        if out is not None:
            out.close()
    return failures
