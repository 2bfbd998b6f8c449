"""`emmaus clients`: create, list, rotate, disable and enable API clients."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Optional, TypeVar

import typer
from rich.console import Console

from emmaus.auth.clients import SCOPE_API, ClientNotFound, ClientRepository
from emmaus.auth.secrets import SecretHasher
from emmaus.cli.tables import Column, print_table
from emmaus.config import get_settings
from emmaus.store import Database, upgrade_database

app = typer.Typer(help="Manage API clients (OAuth2 client credentials).", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")
JsonFlag = Annotated[bool, typer.Option("--json", help="Machine-readable output")]
WideFlag = Annotated[bool, typer.Option("--wide", help="Every column, however wide")]
ClientId = Annotated[str, typer.Argument(help="The client id (emc_...)")]


def run(work: Callable[[ClientRepository], Awaitable[T]]) -> T:
    """Open the configured database (migrating it first when `auto_migrate`) and run `work`."""
    settings = get_settings()

    async def main() -> T:
        db = Database.from_settings(settings)
        repo = ClientRepository(db, SecretHasher(concurrency=1), cache_ttl=0)
        try:
            if settings.auto_migrate:
                await upgrade_database(db)
            return await work(repo)
        finally:
            repo.close()
            await db.aclose()

    try:
        return asyncio.run(main())
    except ClientNotFound as exc:
        err_console.print(f"[red]no client[/red] {exc.args[0]}")
        raise typer.Exit(1) from exc
    except ValueError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _show_secret(client_id: str, secret: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "client_secret": secret}))
        return
    console.print(f"client_id:     [bold]{client_id}[/bold]")
    console.print(f"client_secret: [bold]{secret}[/bold]")
    err_console.print("[yellow]Store the secret now: it is not kept and cannot be shown again.")


@app.command()
def create(
    name: Annotated[str, typer.Option("--name", help="A label for people")],
    scopes: Annotated[
        Optional[list[str]],  # noqa: UP045
        typer.Option("--scopes", help="Scopes, repeated or space/comma separated"),
    ] = None,
    rpm: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--rpm", min=0, help="Requests per minute (default: configured; 0: none)"),
    ] = None,
    tpm: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--tpm", min=0, help="Tokens per minute (default: configured; 0: none)"),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create a client and print its secret once."""
    wanted = " ".join(scopes) if scopes else SCOPE_API
    client, secret = run(lambda repo: repo.create(name, wanted, rpm=rpm, tpm=tpm))
    _show_secret(client.id, secret, as_json)


@app.command("list")
def list_clients(as_json: JsonFlag = False, wide: WideFlag = False) -> None:
    """List clients (never their secrets)."""
    clients = run(lambda repo: repo.list_all())
    if as_json:
        typer.echo(json.dumps([client.public() for client in clients]))
        return
    settings = get_settings()
    columns = [
        Column("client_id", no_wrap=True),  # ids must stay copyable
        Column("name"),
        Column("scopes", drop=2),
        Column("rpm", drop=3, justify="right"),
        Column("tpm", drop=3, justify="right"),
        Column("created", drop=1),
        Column("status"),
    ]
    rows = []
    for client in clients:
        rpm = client.rate_limit_rpm
        tpm = client.rate_limit_tpm
        rows.append(
            [
                client.id,
                client.name,
                " ".join(sorted(client.scopes)),
                str(rpm) if rpm is not None else f"{settings.rate_limit_rpm} (default)",
                str(tpm) if tpm is not None else f"{settings.rate_limit_tpm} (default)",
                client.created_at.strftime("%Y-%m-%d %H:%M"),
                "active" if client.active else "disabled",
            ]
        )
    print_table(console, columns, rows, wide=wide)


@app.command()
def rotate(client_id: ClientId, as_json: JsonFlag = False) -> None:
    """Replace a client's secret; the old one stops working at once."""
    client, secret = run(lambda repo: repo.rotate(client_id))
    _show_secret(client.id, secret, as_json)


@app.command()
def disable(client_id: ClientId) -> None:
    """Refuse the client's credentials and its tokens."""
    run(lambda repo: repo.disable(client_id))
    console.print(f"disabled {client_id}")


@app.command()
def enable(client_id: ClientId) -> None:
    """Re-enable a disabled client."""
    run(lambda repo: repo.enable(client_id))
    console.print(f"enabled {client_id}")


@app.command("routing")
def routing_preference(
    client_id: ClientId,
    preference: Annotated[
        str, typer.Argument(help="quality, balanced or cost (or 'default' to clear it)")
    ],
) -> None:
    """Set the client's default auto-routing preference (a request's own field wins)."""
    value = None if preference == "default" else preference
    if value not in (None, "quality", "balanced", "cost"):
        raise typer.BadParameter("quality, balanced, cost or default")
    run(lambda repo: repo.set_routing_preference(client_id, value))
    console.print(f"{client_id}: routing preference {value or 'balanced (default)'}")


@app.command("budget")
def budget(
    client_id: ClientId,
    tokens: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--tokens", min=0, help="Tokens (prompt + completion) per calendar month"),
    ] = None,
    cost: Annotated[
        Optional[float],  # noqa: UP045
        typer.Option("--cost", min=0, help="USD per calendar month, at the catalog's prices"),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the client's budgets")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show or set a client's monthly budgets (UTC months; past one, model calls get a 429)."""
    from emmaus.usage.budgets import Budget, get_budget, set_budget

    if clear and (tokens is not None or cost is not None):
        raise typer.BadParameter("--clear takes no --tokens or --cost")

    async def work(repo: ClientRepository) -> Budget:
        if await repo.get(client_id) is None:
            raise ClientNotFound(client_id)
        if clear or tokens is not None or cost is not None:
            current = Budget() if clear else await get_budget(repo.db, client_id)
            wanted = Budget(
                tokens if tokens is not None else current.tokens,
                cost if cost is not None else current.cost_usd,
            )
            await set_budget(repo.db, client_id, wanted)
        return await get_budget(repo.db, client_id)

    result = run(work)
    if as_json:
        typer.echo(json.dumps({"client_id": client_id, "monthly_tokens": result.tokens,
                               "monthly_cost_usd": result.cost_usd}))  # fmt: skip
        return
    shown_tokens = f"{result.tokens:,}" if result.tokens is not None else "none"
    shown_cost = f"${result.cost_usd:,.2f}" if result.cost_usd is not None else "none"
    console.print(f"{client_id}: monthly tokens {shown_tokens}, monthly cost {shown_cost}")
