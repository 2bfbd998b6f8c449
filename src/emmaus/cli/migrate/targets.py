"""Opening the target an import or a verify writes to or reads: Emmaus' store (the configured
database, or `--database-url`) or the SDK's client-managed database."""

from __future__ import annotations

from collections.abc import Callable

import typer

from emmaus.catalog import load_catalog
from emmaus.config import get_settings
from emmaus.migration.store import StoreTarget
from emmaus.migration.target import Target
from emmaus.store import Database, database_url_for, head_revision, normalise_url
from emmaus.store.migrate import current_revision_of, upgrade_database

TARGETS = ("emmaus", "sdk")


def token_counter() -> Callable[[str], int]:
    """Counts as the server will (the catalog's tightest model); no model is loaded to run."""
    from emmaus.conversations.tokens import TokenCounter
    from emmaus.engine.providers import build_providers

    settings = get_settings()
    catalog = load_catalog(settings.models)
    counter = TokenCounter(build_providers(settings, catalog), catalog)
    return lambda text: counter.count(text)


async def open_target(
    kind: str,
    client: str,
    database_url: str | None,
    *,
    write: bool,
    owners_sql: str | None = None,
) -> Target:
    if kind not in TARGETS:
        raise typer.BadParameter(f"--target is one of {', '.join(TARGETS)}")
    if kind == "sdk":
        if not database_url:
            raise typer.BadParameter("--target sdk needs --database-url (your app's database)")
        try:
            from emmaus.migration.sdk import open_sdk_target
        except ImportError as exc:
            raise typer.BadParameter(
                f"--target sdk needs emmaus-client: pip install './sdk/python[storage]' ({exc})"
            ) from exc
        count = token_counter() if write else _no_count
        return await open_sdk_target(
            database_url, client, count, write=write, owners_sql=owners_sql
        )
    if owners_sql:
        raise typer.BadParameter("--owners-sql is for --target sdk (Emmaus: --client owns all)")
    settings = get_settings()
    db = Database(normalise_url(database_url) if database_url else database_url_for(settings))
    if write and settings.auto_migrate:
        await upgrade_database(db)
    elif await current_revision_of(db) != head_revision():
        await db.aclose()
        raise typer.BadParameter("the database is not at the newest schema: `emmaus db upgrade`")
    return StoreTarget(db, client, token_counter() if write else _no_count)


def _no_count(text: str) -> int:
    raise AssertionError("a read-only target writes nothing")  # pragma: no cover
