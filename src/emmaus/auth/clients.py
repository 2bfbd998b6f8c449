"""The client repository: OAuth2 client credentials stored in the `clients` table."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from emmaus.auth.secrets import (
    MAX_CLIENT_ID_LENGTH,
    MAX_SECRET_LENGTH,
    SecretHasher,
    VerifiedSecrets,
    new_client_id,
    new_client_secret,
)
from emmaus.store import ClientRow, Database, utcnow

SCOPE_API = "api/access"
SCOPE_ADMIN = "admin"
KNOWN_SCOPES = frozenset({SCOPE_API, SCOPE_ADMIN})


class ClientNotFound(LookupError):
    pass


def parse_scopes(scopes: str | Iterable[str]) -> frozenset[str]:
    """Space- or comma-separated text, or an iterable; every scope must be known."""
    items = scopes.replace(",", " ").split() if isinstance(scopes, str) else list(scopes)
    parsed = frozenset(item.strip() for item in items if item.strip())
    unknown = parsed - KNOWN_SCOPES
    if unknown:
        raise ValueError(f"unknown scope(s) {sorted(unknown)}; known: {sorted(KNOWN_SCOPES)}")
    return parsed


ROUTING_PREFERENCES = ("quality", "balanced", "cost")


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    scopes: frozenset[str]
    rate_limit_rpm: int | None
    rate_limit_tpm: int | None
    created_at: datetime
    disabled_at: datetime | None
    secret_hash: str = field(repr=False)
    routing_preference: str | None = None  # quality | balanced | cost; None: balanced

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @classmethod
    def from_row(cls, row: ClientRow) -> Client:
        return cls(
            id=row.id,
            name=row.name,
            scopes=frozenset(row.scopes.split()),
            rate_limit_rpm=row.rate_limit_rpm,
            rate_limit_tpm=row.rate_limit_tpm,
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            secret_hash=row.secret_hash,
            routing_preference=row.routing_preference,
        )

    def public(self) -> dict[str, object]:
        """What `emmaus clients list --json` shows (never the hash)."""
        return {
            "client_id": self.id,
            "name": self.name,
            "scopes": sorted(self.scopes),
            "rate_limit_rpm": self.rate_limit_rpm,
            "rate_limit_tpm": self.rate_limit_tpm,
            "created_at": self.created_at.isoformat(),
            "disabled_at": self.disabled_at.isoformat() if self.disabled_at else None,
            "routing_preference": self.routing_preference,
        }


def _check_limit(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValueError("rate limits must be >= 0 (0 = unlimited)")
    return value


class ClientRepository:
    def __init__(
        self,
        db: Database,
        hasher: SecretHasher | None = None,
        *,
        cache_ttl: float = 5.0,
        verified_ttl: float = 60.0,
    ) -> None:
        self.db = db
        self.hasher = hasher or SecretHasher()
        self.cache_ttl = cache_ttl
        self._cache: dict[str, tuple[Client | None, float]] = {}
        self._verified = VerifiedSecrets(verified_ttl)

    async def create(
        self,
        name: str,
        scopes: str | Iterable[str] = (SCOPE_API,),
        *,
        rpm: int | None = None,
        tpm: int | None = None,
    ) -> tuple[Client, str]:
        """A new client and its secret. The secret is not stored and cannot be shown again."""
        parsed = parse_scopes(scopes)
        if not parsed:
            raise ValueError("a client needs at least one scope")
        secret = new_client_secret()
        row = ClientRow(
            id=new_client_id(),
            name=name,
            secret_hash=await self.hasher.ahash(secret),
            scopes=" ".join(sorted(parsed)),
            rate_limit_rpm=_check_limit(rpm),
            rate_limit_tpm=_check_limit(tpm),
            created_at=utcnow(),
        )
        async with self.db.session() as session:
            session.add(row)
        return Client.from_row(row), secret

    async def get(self, client_id: str) -> Client | None:
        if len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None
        async with self.db.session() as session:
            row = await session.get(ClientRow, client_id)
            return Client.from_row(row) if row else None

    async def get_cached(self, client_id: str) -> Client | None:
        """For the per-request path: a row at most `cache_ttl` seconds old (disabling a client from
        another process takes effect within that time; from this process, at once)."""
        now = time.monotonic()
        hit = self._cache.get(client_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        client = await self.get(client_id)
        if self.cache_ttl > 0:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[client_id] = (client, now + self.cache_ttl)
        return client

    async def list_all(self) -> list[Client]:
        async with self.db.session() as session:
            rows = await session.scalars(select(ClientRow).order_by(ClientRow.created_at))
            return [Client.from_row(row) for row in rows]

    async def count(self) -> int:
        async with self.db.session() as session:
            return (await session.execute(select(func.count()).select_from(ClientRow))).scalar_one()

    async def _update(self, client_id: str, change: Callable[[ClientRow], None]) -> Client:
        async with self.db.session(write=True) as session:
            row = await session.get(ClientRow, client_id, with_for_update=True)
            if row is None:
                raise ClientNotFound(client_id)
            change(row)
            client = Client.from_row(row)
        self._forget(client_id)
        return client

    def _forget(self, client_id: str) -> None:
        self._cache.pop(client_id, None)
        self._verified.forget(client_id)

    async def rotate(self, client_id: str) -> tuple[Client, str]:
        """A new secret; the old one stops working at once (tokens already issued stay valid
        until they expire, like Gloo's)."""
        secret = new_client_secret()
        secret_hash = await self.hasher.ahash(secret)

        def change(row: ClientRow) -> None:
            row.secret_hash = secret_hash

        return await self._update(client_id, change), secret

    async def disable(self, client_id: str) -> Client:
        """No new tokens, and its existing tokens are refused (within `cache_ttl` elsewhere)."""

        def change(row: ClientRow) -> None:
            row.disabled_at = row.disabled_at or utcnow()

        return await self._update(client_id, change)

    async def enable(self, client_id: str) -> Client:
        def change(row: ClientRow) -> None:
            row.disabled_at = None

        return await self._update(client_id, change)

    async def set_limits(self, client_id: str, *, rpm: int | None, tpm: int | None) -> Client:
        """Per-client limits; None falls back to the configured defaults, 0 is unlimited."""
        rpm, tpm = _check_limit(rpm), _check_limit(tpm)

        def change(row: ClientRow) -> None:
            row.rate_limit_rpm, row.rate_limit_tpm = rpm, tpm

        return await self._update(client_id, change)

    async def set_routing_preference(self, client_id: str, preference: str | None) -> Client:
        if preference not in (None, *ROUTING_PREFERENCES):
            raise ValueError(f"routing preference must be one of {list(ROUTING_PREFERENCES)}")

        def change(row: ClientRow) -> None:
            row.routing_preference = preference

        return await self._update(client_id, change)

    async def set_scopes(self, client_id: str, scopes: str | Iterable[str]) -> Client:
        """Takes effect on existing tokens too: a token only carries scopes the client still has."""
        parsed = parse_scopes(scopes)
        if not parsed:
            raise ValueError("a client needs at least one scope")

        def change(row: ClientRow) -> None:
            row.scopes = " ".join(sorted(parsed))

        return await self._update(client_id, change)

    async def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The active client these credentials belong to, else None (unknown id, wrong secret
        and disabled client all cost one argon2 verification)."""
        if len(secret) > MAX_SECRET_LENGTH:
            return None
        client = await self.get(client_id)
        stored = client.secret_hash if client else None
        if client is not None and self._verified.matches(client.id, client.secret_hash, secret):
            ok = True
        else:
            ok = await self.hasher.averify(stored, secret)
            if ok and client is not None and client.active:
                if self.hasher.needs_rehash(client.secret_hash):
                    client = await self._rehash(client.id, secret)  # argon2 settings changed
                self._verified.remember(client.id, client.secret_hash, secret)
        if not ok or client is None or not client.active:
            return None
        return client

    async def _rehash(self, client_id: str, secret: str) -> Client:
        secret_hash = await self.hasher.ahash(secret)

        def change(row: ClientRow) -> None:
            row.secret_hash = secret_hash

        return await self._update(client_id, change)

    def close(self) -> None:
        self.hasher.close()
