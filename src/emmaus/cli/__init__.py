"""The `emmaus` command line (Typer): one module per command group."""

from emmaus.cli.main import app

__all__ = ["app"]
