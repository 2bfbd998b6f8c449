"""`AuthRuntime`: everything auth needs at run time, built once at start-up and kept in
`app.state.auth`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from emmaus.auth.clients import Client, ClientRepository
from emmaus.auth.ratelimit import MemoryRateLimiter, RateLimiter
from emmaus.auth.tokens import TokenService
from emmaus.config import Settings
from emmaus.store import Database, upgrade_database

log = logging.getLogger(__name__)

T = TypeVar("T")

TOKEN_ENDPOINT_IP = "oauth2:ip:"
TOKEN_ENDPOINT_FAILURES = "oauth2:fail:"  # + address + client id


def build_limiter(settings: Settings) -> RateLimiter:
    """Redis (shared by all instances) when `EMMAUS_REDIS_URL` is set, else in-process."""
    if settings.redis_url:
        from emmaus.auth.ratelimit_redis import RedisRateLimiter

        return RedisRateLimiter(settings.redis_url, prefix=settings.redis_prefix)
    return MemoryRateLimiter()


class AuthRuntime:
    """```python
    auth = AuthRuntime(settings, db)      # db: a shared, migrated `Database`, or None to open
    await auth.start()                    # (and migrate) its own; signing key; limiter
    ...
    await auth.aclose()
    ```"""

    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        *,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self._db = db
        self._owns_db = db is None
        self._limiter = limiter
        self._tokens: TokenService | None = None
        self._clients: ClientRepository | None = None
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self._db is None:
            self._db = Database.from_settings(self.settings)
            if self.settings.auto_migrate:  # a shared db is migrated by whoever opened it
                await upgrade_database(self._db)
        self._tokens = TokenService.from_settings(self.settings)
        if self._limiter is None:
            self._limiter = build_limiter(self.settings)
        self._clients = ClientRepository(self._db, cache_ttl=self.settings.client_cache_ttl)

    async def aclose(self) -> None:
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._limiter is not None:
            await self._limiter.aclose()
        if self._clients is not None:
            self._clients.close()
        if self._owns_db and self._db is not None:
            await self._db.aclose()

    @property
    def db(self) -> Database:
        return _started(self._db)

    @property
    def tokens(self) -> TokenService:
        return _started(self._tokens)

    @property
    def clients(self) -> ClientRepository:
        return _started(self._clients)

    @property
    def limiter(self) -> RateLimiter:
        return _started(self._limiter)

    def limits_for(self, client: Client) -> tuple[int | None, int | None]:
        """(rpm, tpm) for `client`: its own values, else the configured defaults; 0 = none."""
        rpm = client.rate_limit_rpm
        tpm = client.rate_limit_tpm
        rpm = self.settings.rate_limit_rpm if rpm is None else rpm
        tpm = self.settings.rate_limit_tpm if tpm is None else tpm
        return rpm or None, tpm or None

    async def record_tokens(self, client_id: str, tokens: int) -> None:
        await self.limiter.record_tokens(client_id, tokens)

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background (kept referenced; awaited by `aclose`)."""
        task = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background auth task failed: %r", task.exception())


def _started(value: T | None) -> T:
    if value is None:
        raise RuntimeError("AuthRuntime.start() has not run")
    return value
