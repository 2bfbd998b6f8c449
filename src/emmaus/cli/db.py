"""`emmaus db`: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from emmaus.config import get_settings
from emmaus.store import current_revision, database_url_for, head_revision, upgrade

app = typer.Typer(help="Database schema migrations (Alembic).", no_args_is_help=True)


def _url() -> tuple[str, str]:
    url = database_url_for(get_settings())
    return url, make_url(url).render_as_string(hide_password=True)


@app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
) -> None:
    """Apply pending migrations (the server also does this at start unless auto_migrate=false)."""
    url, shown = _url()
    upgrade(url, revision)
    typer.echo(f"{shown}: at revision {current_revision(url)}")


@app.command()
def current() -> None:
    """Show the database's revision and the newest one this version ships."""
    url, shown = _url()
    typer.echo(f"database: {shown}")
    typer.echo(f"current:  {current_revision(url) or '(empty)'}")
    typer.echo(f"head:     {head_revision()}")
