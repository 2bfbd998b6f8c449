"""Readiness: can this instance answer? The database answers a query, Redis (when configured)
answers a PING, the embedded models are loaded, and at least one model can be reached.

Upstreams are checked by opening a TCP connection to each distinct host of the catalog (no
request is sent, so no key is needed and nothing is billed). One unreachable upstream does not
make the instance unready: every instance shares the same upstreams, so taking them all out of
the load balancer would turn a partial outage into a full one; fallbacks route around it, and
the report says which is down. Results are cached for a few seconds, so frequent probes from
several load balancers cost one round of checks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import text

from emmaus.catalog import Catalog, ModelSpec
from emmaus.config import Settings
from emmaus.engine.providers.base import Provider
from emmaus.engine.providers.local.model import model_path
from emmaus.store import Database

CACHE_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # "database", "redis", "model:<id>"
    ok: bool
    required: bool  # whether a failure makes the instance unready
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        models = [c for c in self.checks if c.name.startswith("model:")]
        required = all(c.ok for c in self.checks if c.required)
        return required and (not models or any(c.ok for c in models))


class Readiness:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        catalog: Catalog,
        providers: Mapping[str, Provider],
    ) -> None:
        self.settings = settings
        self.db = db
        self.catalog = catalog
        self.providers = providers
        self.timeout = settings.readiness_timeout
        self._cached: tuple[float, Report] | None = None
        self._redis = None

    async def report(self) -> Report:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < CACHE_SECONDS:
            return self._cached[1]
        checks = [self._bounded("database", True, self._database())]
        if self.settings.redis_url:
            checks.append(self._bounded("redis", True, self._ping_redis()))
        hosts: dict[tuple[str, int], asyncio.Future[Check]] = {}
        for spec in self.catalog:
            if spec.provider == "local":
                checks.append(self._local(spec.id, spec))
            elif spec.base_url:
                address = _address(spec.base_url)
                if address not in hosts:  # one connection per host, however many models
                    probe = self._bounded("", False, self._reach(*address))
                    hosts[address] = asyncio.ensure_future(probe)
                checks.append(_as_model(spec.id, hosts[address]))
        report = Report(tuple(await asyncio.gather(*checks)))
        self._cached = (time.monotonic(), report)
        return report

    async def _bounded(self, name: str, required: bool, work: Awaitable[None]) -> Check:
        try:
            await asyncio.wait_for(work, self.timeout)
        except TimeoutError:
            return Check(name, False, required, f"no answer within {self.timeout:g} s")
        except Exception as exc:  # reported by kind only: messages may hold URLs or passwords
            return Check(name, False, required, type(exc).__name__)
        return Check(name, True, required)

    async def _database(self) -> None:
        async with self.db.session() as session:
            await session.execute(text("SELECT 1"))

    async def _ping_redis(self) -> None:
        if self._redis is None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.settings.redis_url, socket_timeout=self.timeout)  # type: ignore[arg-type]
        await self._redis.ping()  # type: ignore[attr-defined]

    async def _local(self, model_id: str, spec: ModelSpec) -> Check:
        name = f"model:{model_id}"
        stats = getattr(self.providers.get("local"), "queue_stats", None)
        if stats is None:
            return Check(name, False, True, "the embedded model provider is not running")
        loaded = str(model_path(spec).resolve()) in stats()
        return Check(name, loaded, True, "" if loaded else "not loaded")

    async def _reach(self, host: str, port: int) -> None:
        _, writer = await asyncio.open_connection(host, port)
        writer.close()
        await writer.wait_closed()

    async def aclose(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()  # type: ignore[attr-defined]


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


async def _as_model(model_id: str, probe: asyncio.Future[Check]) -> Check:
    check = await probe
    return Check(f"model:{model_id}", check.ok, False, check.detail)
