"""Client ids and secrets: generation, argon2id hashing and verification.

Secrets are 256 random bits, so argon2 guards a stolen database rather than weak passwords; the
cost parameters are OWASP's minimum for argon2id (19 MiB, 2 passes), and verification runs in a
small thread pool so a burst of token requests neither blocks the event loop nor exhausts memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

CLIENT_ID_PREFIX = "emc_"
MAX_CLIENT_ID_LENGTH = 64
MAX_SECRET_LENGTH = 256


def new_client_id() -> str:
    """`emc_` + 24 URL-safe characters (144 random bits): readable, unguessable, no `:`."""
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(18)


def new_client_secret() -> str:
    """43 URL-safe characters carrying 256 random bits."""
    return secrets.token_urlsafe(32)


class SecretHasher:
    def __init__(
        self,
        *,
        time_cost: int = 2,
        memory_cost: int = 19 * 1024,
        parallelism: int = 1,
        concurrency: int = 4,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism
        )
        # Verifying against this when the client is unknown keeps "no such client" and "wrong
        # secret" equally slow, so timing does not reveal which client ids exist.
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="argon2")

    def hash(self, secret: str) -> str:
        return self._hasher.hash(secret)

    def verify(self, secret_hash: str | None, secret: str) -> bool:
        """True when `secret` matches; `None` (unknown client) costs the same and is False."""
        try:
            matched = self._hasher.verify(secret_hash or self._dummy_hash, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            matched = False
        return matched and secret_hash is not None

    def needs_rehash(self, secret_hash: str) -> bool:
        return self._hasher.check_needs_rehash(secret_hash)

    async def ahash(self, secret: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self.hash, secret)

    async def averify(self, secret_hash: str | None, secret: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.verify, secret_hash, secret)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class VerifiedSecrets:
    """Remembers for `ttl` seconds that a secret matched a stored hash, so a busy token endpoint
    does not run argon2 on every call.

    Only HMAC-SHA256 digests under a random per-process key are kept, never secrets. The stored
    hash is part of the digest, so rotating a secret invalidates the entry at once; the caller
    still reads the client row each time, so disabling takes effect at once too.
    """

    def __init__(self, ttl: float = 60.0, maxsize: int = 4096) -> None:
        self.ttl = ttl
        self.maxsize = maxsize
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def _digest(self, client_id: str, secret_hash: str, secret: str) -> bytes:
        message = "\0".join((client_id, secret_hash, secret)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def matches(self, client_id: str, secret_hash: str, secret: str) -> bool:
        entry = self._entries.get(client_id)
        if entry is None or entry[1] < time.monotonic():
            return False
        return hmac.compare_digest(entry[0], self._digest(client_id, secret_hash, secret))

    def remember(self, client_id: str, secret_hash: str, secret: str) -> None:
        if self.ttl <= 0:
            return
        digest = self._digest(client_id, secret_hash, secret)
        self._entries[client_id] = (digest, time.monotonic() + self.ttl)
        self._entries.move_to_end(client_id)
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)

    def forget(self, client_id: str) -> None:
        self._entries.pop(client_id, None)
