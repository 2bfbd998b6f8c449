"""Client ids, secrets and their argon2 hashes."""

from __future__ import annotations

import re

from emmaus.auth.secrets import (
    SecretHasher,
    VerifiedSecrets,
    new_client_id,
    new_client_secret,
)


def test_ids_and_secrets_are_random_and_url_safe() -> None:
    ids = {new_client_id() for _ in range(200)}
    secrets = {new_client_secret() for _ in range(200)}
    assert len(ids) == len(secrets) == 200
    for client_id in ids:
        assert re.fullmatch(r"emc_[A-Za-z0-9_-]{24}", client_id)
    for secret in secrets:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)  # 32 random bytes


async def test_hash_and_verify() -> None:
    hasher = SecretHasher(concurrency=2)
    try:
        secret = new_client_secret()
        hashed = await hasher.ahash(secret)
        assert hashed.startswith("$argon2id$")
        assert secret not in hashed
        assert await hasher.averify(hashed, secret)
        assert not await hasher.averify(hashed, secret + "x")
        assert not await hasher.averify(None, secret)  # unknown client: same work, False
        assert not await hasher.averify("not-a-hash", secret)
        assert hasher.verify(hasher.hash(""), "")  # edge: empty secret hashes fine
    finally:
        hasher.close()


def test_verified_cache_binds_client_hash_and_secret() -> None:
    cache = VerifiedSecrets(ttl=60)
    cache.remember("emc_a", "hash1", "s3cret")
    assert cache.matches("emc_a", "hash1", "s3cret")
    assert not cache.matches("emc_a", "hash1", "other")
    assert not cache.matches("emc_a", "hash2", "s3cret")  # rotated secret: miss
    assert not cache.matches("emc_b", "hash1", "s3cret")
    cache.forget("emc_a")
    assert not cache.matches("emc_a", "hash1", "s3cret")
    assert all(b"s3cret" not in digest for digest, _ in cache._entries.values())


def test_verified_cache_expires_and_is_bounded() -> None:
    off = VerifiedSecrets(ttl=0)
    off.remember("emc_a", "h", "s")
    assert not off.matches("emc_a", "h", "s")
    small = VerifiedSecrets(ttl=60, maxsize=2)
    for name in ("a", "b", "c"):
        small.remember(name, "h", "s")
    assert not small.matches("a", "h", "s")
    assert small.matches("c", "h", "s")
