"""The `emmaus` command line (Typer)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Optional

import typer
from rich.console import Console

from emmaus.api.common.server import server_options
from emmaus.catalog import CatalogError, load_catalog
from emmaus.cli.banner import base_url, first_client_banner
from emmaus.cli.chat import app as chat_app
from emmaus.cli.clients import app as clients_app
from emmaus.cli.db import app as db_app
from emmaus.cli.ingest import app as ingest_app
from emmaus.cli.migrate import app as migrate_app
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
app.add_typer(migrate_app, name="migrate")
app.add_typer(router_app, name="router")
app.command("usage")(usage)
console = Console()
err_console = Console(stderr=True)


def _print_first_client(settings: Settings, host: str, port: int) -> None:
    """On the very first start, create a client and show how to use it (the secret only once)."""
    from emmaus.auth import bootstrap

    created = bootstrap(settings)
    if created is None:
        return
    client_id, secret = created
    console.print(
        "\n" + first_client_banner(client_id, secret, base_url(host, port)),
        markup=False,
        highlight=False,
        soft_wrap=True,
    )


def _first_start(settings: Settings, host: str, port: int) -> None:
    """The first database call of a start: an unreachable or refusing database is one line
    naming it (password hidden), not a traceback."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from emmaus.store import database_url_for

    try:
        _print_first_client(settings, host, port)
    except (OSError, SQLAlchemyError) as exc:
        where = make_url(database_url_for(settings)).render_as_string(hide_password=True)
        reason = getattr(exc, "orig", None) or exc
        err_console.print(f"[red]cannot use the database[/red] {where}: {reason}")
        raise typer.Exit(2) from exc


def _check_redis(settings: Settings) -> None:
    """A configured Redis that does not answer stops the start in one line naming it (password
    hidden): limits, budgets and stops across instances depend on it."""
    if not settings.redis_url:
        return
    import redis
    from sqlalchemy.engine import make_url

    client = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=5)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        where = make_url(settings.redis_url).render_as_string(hide_password=True)
        err_console.print(f"[red]cannot reach Redis[/red] {where}: {exc}", soft_wrap=True)
        raise typer.Exit(2) from exc
    finally:
        client.close()


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
    _check_redis(settings)
    _first_start(settings, host, port)
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
def models(
    wide: Annotated[bool, typer.Option("--wide", help="Every column, however wide")] = False,
) -> None:
    """List the model catalog."""
    from emmaus.cli.tables import Column, print_table

    try:
        catalog = load_catalog(get_settings().models)
    except CatalogError as exc:
        err_console.print(f"[red]catalog error:[/red] {exc}")
        raise typer.Exit(2) from exc
    columns = [
        Column("id", no_wrap=True),
        Column("family", drop=1),
        Column("tier"),
        Column("provider", drop=2),
        Column("context", drop=1, justify="right"),
        Column("$/1k in", drop=3, justify="right"),
        Column("$/1k out", drop=3, justify="right"),
        Column("caps", drop=2),
    ]
    rows = [
        [
            spec.id,
            spec.family_display,
            spec.tier_name,
            spec.provider,
            str(spec.context_window),
            f"{spec.input_cost_per_1k:g}",
            f"{spec.output_cost_per_1k:g}",
            ",".join(sorted(spec.capabilities)),
        ]
        for spec in catalog
    ]
    print_table(console, columns, rows, wide=wide)


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
