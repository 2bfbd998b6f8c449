"""The first client: created when the clients table is empty, so a new user can start at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select, text

from emmaus.auth.clients import SCOPE_ADMIN, SCOPE_API
from emmaus.auth.secrets import SecretHasher, new_client_id, new_client_secret
from emmaus.config import Settings
from emmaus.store import ClientRow, Database, upgrade_database, utcnow

BOOTSTRAP_NAME = "bootstrap"
_PG_BOOTSTRAP_LOCK = 0x656D6D62  # instances starting together create one client, not several


async def ensure_bootstrap_client(db: Database, settings: Settings) -> tuple[str, str] | None:
    """Create a client with scopes `api/access admin` when there is none; return its
    `(client_id, client_secret)`, or None when clients already exist. Print the secret once."""
    del settings  # the defaults apply to the bootstrap client (NULL limits)
    hasher = SecretHasher(concurrency=1)
    try:
        async with db.session(write=True) as session:
            if db.dialect == "postgresql":
                await session.execute(text(f"SELECT pg_advisory_xact_lock({_PG_BOOTSTRAP_LOCK})"))
            count = (
                await session.execute(select(func.count()).select_from(ClientRow))
            ).scalar_one()
            if count:
                return None
            client_id, secret = new_client_id(), new_client_secret()
            session.add(
                ClientRow(
                    id=client_id,
                    name=BOOTSTRAP_NAME,
                    secret_hash=await hasher.ahash(secret),
                    scopes=f"{SCOPE_ADMIN} {SCOPE_API}",
                    created_at=utcnow(),
                )
            )
        return client_id, secret
    finally:
        hasher.close()


def bootstrap(settings: Settings) -> tuple[str, str] | None:
    """Synchronous: migrate (when `auto_migrate`), then `ensure_bootstrap_client`. For
    `emmaus serve`, before the server starts, so the credentials print on the console."""

    async def run() -> tuple[str, str] | None:
        db = Database.from_settings(settings)
        try:
            if settings.auto_migrate:
                await upgrade_database(db)
            return await ensure_bootstrap_client(db, settings)
        finally:
            await db.aclose()

    return asyncio.run(run())
