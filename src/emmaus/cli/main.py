"""The `emmaus` command line (Typer)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from emmaus.api.common.server import server_options
from emmaus.catalog import CatalogError, load_catalog
from emmaus.cli.chat import app as chat_app
from emmaus.cli.clients import app as clients_app
from emmaus.cli.db import app as db_app
from emmaus.cli.ingest import app as ingest_app
from emmaus.cli.router import app as router_app
from emmaus.cli.router import show_route
from emmaus.cli.usage import usage
from emmaus.config import Settings, get_settings
from emmaus.engine.safety.policy import SafetyPolicyError, load_policy

app = typer.Typer(help="Emmaus: self-hosted conversational AI speaking the Gloo AI contract.")
app.add_typer(chat_app, name="chat")
app.add_typer(clients_app, name="clients")
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.add_typer(router_app, name="router")
app.command("usage")(usage)
console = Console()
err_console = Console(stderr=True)


_READ_TOKEN = "python3 -c 'import sys,json; print(json.load(sys.stdin)[\"access_token\"])'"


def _print_first_client(settings: Settings, host: str, port: int) -> None:
    """On the very first start, create a client and show how to use it (the secret only once)."""
    from emmaus.auth import bootstrap

    created = bootstrap(settings)
    if created is None:
        return
    client_id, secret = created
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    console.print(
        "\n[bold green]Created your first API client[/bold green] (the secret is shown only now):\n"
        f"  client id:     [bold]{client_id}[/bold]\n"
        f"  client secret: [bold]{secret}[/bold]\n\nTry it:\n"
    )
    console.print(
        f"TOKEN=$(curl -s -u '{client_id}:{secret}' -d grant_type=client_credentials "
        f"{base}/oauth2/token | {_READ_TOKEN})\n"
        f'curl -s {base}/ai/v2/chat/completions -H "Authorization: Bearer $TOKEN" '
        '-H \'Content-Type: application/json\' -d \'{"messages": [{"role": "user", '
        '"content": "What is grace?"}], "auto_routing": true, "max_tokens": 128}\'\n',
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


@app.command()
def serve(
    host: Annotated[Optional[str], typer.Option(help="Bind address")] = None,  # noqa: UP045
    port: Annotated[Optional[int], typer.Option(help="Port")] = None,  # noqa: UP045
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request")] = True,
) -> None:
    """Start the HTTP server."""
    from emmaus.observability import multiprocess

    settings = get_settings()
    # Workers share one metrics directory, set up before anything here or in a worker records
    # a metric and removed when we stop; a separate metrics address is served from this
    # process, which sees every worker's files.
    apart = settings.metrics_listen if settings.metrics else None
    with multiprocess.shared_directory(settings.metrics and (workers > 1 or bool(apart))):
        _serve(settings, host, port, workers, access_log, apart)


def _serve(
    settings: Settings,
    host: str | None,
    port: int | None,
    workers: int,
    access_log: bool,
    apart: str | None,
) -> None:
    import uvicorn

    from emmaus.observability.logs import log_config

    host = host or settings.host
    port = port or settings.port
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        load_catalog(settings.models)
    except CatalogError as exc:
        err_console.print(f"[red]catalog error:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        load_policy(settings.safety_policy)
    except SafetyPolicyError as exc:
        err_console.print(f"[red]safety policy error:[/red] {exc}")
        raise typer.Exit(2) from exc
    _print_first_client(settings, host, port)
    if apart:
        from emmaus.observability.exposition import serve_apart

        try:
            serve_apart(apart)
        except (ValueError, OSError) as exc:
            err_console.print(f"[red]metrics address:[/red] {exc}")
            raise typer.Exit(2) from exc
    console.print(f"Emmaus listening on [bold]http://{host}:{port}[/bold]  (docs: /docs)")
    uvicorn.run(
        "emmaus.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level,
        log_config=log_config(settings),
        loop="uvloop",
        access_log=access_log,
        **server_options(settings),
    )


@app.command()
def models() -> None:
    """List the model catalog."""
    try:
        catalog = load_catalog(get_settings().models)
    except CatalogError as exc:
        err_console.print(f"[red]catalog error:[/red] {exc}")
        raise typer.Exit(2) from exc
    table = Table("id", "family", "tier", "provider", "context", "$/1k in", "$/1k out", "caps")
    for spec in catalog:
        table.add_row(
            spec.id,
            spec.family_display,
            spec.tier_name,
            spec.provider,
            str(spec.context_window),
            f"{spec.input_cost_per_1k:g}",
            f"{spec.output_cost_per_1k:g}",
            ",".join(sorted(spec.capabilities)),
        )
    console.print(table)


@app.command()
def complete(
    question: Annotated[str, typer.Argument(help="What to ask")],
    model: Annotated[Optional[str], typer.Option(help="A catalog model id")] = None,  # noqa: UP045
    family: Annotated[Optional[str], typer.Option(help="A model family")] = None,  # noqa: UP045
    tradition: Annotated[Optional[str], typer.Option(help="Theological perspective")] = None,  # noqa: UP045
    system: Annotated[Optional[str], typer.Option(help="A system message")] = None,  # noqa: UP045
    max_tokens: Annotated[int, typer.Option(help="Most tokens to generate")] = 256,
    temperature: Annotated[float, typer.Option(help="Sampling temperature")] = 0.7,
) -> None:
    """Ask one question in-process and stream the answer to the terminal."""
    from emmaus.cli.complete import run_completion

    try:
        asyncio.run(
            run_completion(
                console, question, model, family, tradition, system, max_tokens, temperature
            )
        )
    except Exception as exc:  # the engine's errors carry a readable message
        err_console.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(1) from exc


@app.command()
def route(
    query: Annotated[str, typer.Argument(help="A user message")],
    preference: Annotated[str, typer.Option(help="quality, balanced or cost")] = "balanced",
    family: Annotated[Optional[str], typer.Option(help="Route within a model family")] = None,  # noqa: UP045
) -> None:
    """Show how auto-routing would route a message (no model is called)."""
    if preference not in ("quality", "balanced", "cost"):
        raise typer.BadParameter("preference must be quality, balanced or cost")
    try:
        show_route(query, preference, family)
    except Exception as exc:  # catalog and routing errors carry a readable message
        err_console.print(f"[red]error:[/red] {getattr(exc, 'message', exc)}")
        raise typer.Exit(1) from exc


def main() -> None:
    app()
