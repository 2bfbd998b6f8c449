"""`emmaus usage`: the usage ledger's totals, read straight from the database (every client)."""

from __future__ import annotations

import asyncio
import csv
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Annotated, Optional

import typer
from rich.console import Console

from emmaus.cli.tables import Column, print_table
from emmaus.config import get_settings
from emmaus.store import Database, upgrade_database
from emmaus.usage.queries import GROUPS, UsageTotals, month_start, overall, summarise

console = Console()
FIELDS = ("requests", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "errors")


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        message = f"{value!r} is not a date or ISO 8601 date-time"
        raise typer.BadParameter(message, param_hint=name) from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


async def _report(
    start: datetime, end: datetime, group_by: str, client_id: str | None
) -> list[UsageTotals]:
    settings = get_settings()
    db = Database.from_settings(settings)
    try:
        if settings.auto_migrate:
            await upgrade_database(db)
        return await summarise(db, start=start, end=end, group_by=group_by, client_id=client_id)  # type: ignore[arg-type]
    finally:
        await db.aclose()


def usage(
    start: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--from", help="Inclusive date or date-time (UTC); default: this month"),
    ] = None,
    end: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--to", help="Exclusive date or date-time (UTC); default: now"),
    ] = None,
    group_by: Annotated[str, typer.Option("--group-by", help="model, day or client")] = "model",
    client_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--client", help="Only this client's usage"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON output")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="CSV output")] = False,
    wide: Annotated[bool, typer.Option("--wide", help="Every column, however wide")] = False,
) -> None:
    """Tokens, cost, calls and errors from the usage ledger, by model, day or client."""
    if group_by not in GROUPS:
        raise typer.BadParameter("model, day or client", param_hint="--group-by")
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    until = _moment(end, "--to") or datetime.now(UTC)
    since = _moment(start, "--from") or month_start(until - timedelta(microseconds=1))
    if since >= until:
        raise typer.BadParameter("--from must be earlier than --to")
    groups = asyncio.run(_report(since, until, group_by, client_id))
    total = overall(groups)
    if as_json:
        body = {
            "from": since.isoformat(),
            "to": until.isoformat(),
            "group_by": group_by,
            "client_id": client_id,
            "data": [g.to_dict() for g in groups],
            "total": total.to_dict(),
        }
        typer.echo(json.dumps(body))
    elif as_csv:
        writer = csv.writer(sys.stdout)
        writer.writerow([group_by, *FIELDS, "avg_latency_ms"])
        for group in groups:
            row = group.to_dict()
            writer.writerow([group.key or "", *(row[f] for f in FIELDS), row["avg_latency_ms"]])
    else:
        _table(groups, total, group_by, since, until, wide)


def _table(
    groups: list[UsageTotals],
    total: UsageTotals,
    group_by: str,
    since: datetime,
    until: datetime,
    wide: bool,
) -> None:
    title = f"Usage {since:%Y-%m-%d %H:%M} to {until:%Y-%m-%d %H:%M} UTC, by {group_by}"
    columns = [
        Column(group_by, no_wrap=group_by == "client"),  # client ids stay copyable
        Column("calls", justify="right"),
        Column("tokens in", drop=1, justify="right"),
        Column("tokens out", drop=1, justify="right"),
        Column("cost (USD)", justify="right"),
        Column("errors", drop=2, justify="right"),
        Column("avg ms", drop=3, justify="right"),
    ]

    def row(key: str, t: UsageTotals) -> list[str]:
        return [
            key,
            f"{t.requests:,}",
            f"{t.prompt_tokens:,}",
            f"{t.completion_tokens:,}",
            f"{t.cost_usd:,.6f}",
            f"{t.errors:,}",
            f"{t.avg_latency_ms:,.0f}",
        ]

    rows = [row(group.key or "(none)", group) for group in groups]
    rows.append(row("total", total))
    print_table(console, columns, rows, wide=wide, title=title, bold_last=True)
