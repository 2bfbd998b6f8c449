"""Clients and bearer tokens for tests that call protected routes.

```python
client_id, secret = create_client(settings)                 # unlimited rpm/tpm by default
headers = bearer_headers(base_url, settings)                # {"Authorization": "Bearer ..."}
change_client(settings, lambda repo: repo.disable(client_id))
```
`settings` must point at the server's database (same `data_dir` / `database_url`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import httpx

from emmaus.auth.clients import ClientRepository
from emmaus.auth.secrets import SecretHasher
from emmaus.config import Settings
from emmaus.store import Database, upgrade_database
from tests.support.databases import run_blocking

T = TypeVar("T")


def change_client(settings: Settings, work: Callable[[ClientRepository], Awaitable[T]]) -> T:
    """Run `work` on a repository over `settings`' database (migrated first), from outside the
    server, as `emmaus clients ...` would."""

    async def run() -> T:
        db = Database.from_settings(settings)
        repo = ClientRepository(db, SecretHasher(concurrency=1), cache_ttl=0)
        try:
            await upgrade_database(db)
            return await work(repo)
        finally:
            repo.close()
            await db.aclose()

    return run_blocking(run())


def create_client(
    settings: Settings,
    name: str = "test",
    scopes: str = "api/access",
    *,
    rpm: int | None = 0,
    tpm: int | None = 0,
) -> tuple[str, str]:
    """A new client: `(client_id, client_secret)`. Limits default to 0 (unlimited) so suites
    are never throttled; pass None for the configured defaults."""

    async def create(repo: ClientRepository) -> tuple[str, str]:
        client, secret = await repo.create(name, scopes, rpm=rpm, tpm=tpm)
        return client.id, secret

    return change_client(settings, create)


def fetch_token(base_url: str, client_id: str, secret: str, scope: str = "api/access") -> str:
    response = httpx.post(
        f"{base_url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": scope},
        auth=(client_id, secret),
        timeout=30,
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def bearer_headers(base_url: str, settings: Settings, **client: object) -> dict[str, str]:
    """`{"Authorization": "Bearer <token>"}` for a new client (see `create_client` options)."""
    client_id, secret = create_client(settings, **client)  # type: ignore[arg-type]
    return {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
