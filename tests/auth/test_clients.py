"""The client repository and the bootstrap client, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, text

from emmaus.auth import ClientNotFound, ClientRepository, ensure_bootstrap_client
from emmaus.auth.secrets import SecretHasher
from emmaus.config import Settings
from emmaus.store import ClientRow, Database


@pytest.fixture
async def repo(database: Database) -> AsyncIterator[ClientRepository]:
    repository = ClientRepository(database, SecretHasher(concurrency=2), cache_ttl=60)
    yield repository
    repository.close()


async def test_create_and_authenticate(repo: ClientRepository, database: Database) -> None:
    client, secret = await repo.create("app", "api/access admin", rpm=5, tpm=None)
    assert client.scopes == {"api/access", "admin"}
    assert client.rate_limit_rpm == 5 and client.rate_limit_tpm is None
    assert client.active and client.created_at.tzinfo is not None
    assert secret not in repr(client)
    assert (await repo.authenticate(client.id, secret)) == client
    assert await repo.authenticate(client.id, secret) is not None  # cached path
    assert await repo.authenticate(client.id, secret + "x") is None
    assert await repo.authenticate("emc_unknown", secret) is None
    assert await repo.authenticate(client.id, "x" * 10_000) is None
    assert await repo.authenticate("x" * 10_000, secret) is None


async def test_secret_never_stored_in_clear(repo: ClientRepository, database: Database) -> None:
    client, secret = await repo.create("app")
    async with database.session() as session:
        raw = (await session.execute(text("SELECT * FROM clients"))).mappings().one()
    assert secret not in " ".join(str(value) for value in raw.values())
    assert raw["secret_hash"].startswith("$argon2id$")
    assert raw["id"] == client.id


async def test_list_rotate_disable_enable(repo: ClientRepository) -> None:
    one, secret_one = await repo.create("one")
    two, _ = await repo.create("two", ["api/access"], rpm=0, tpm=0)
    assert [c.id for c in await repo.list_all()] == [one.id, two.id]
    assert await repo.count() == 2

    assert await repo.authenticate(one.id, secret_one) is not None  # now in the verified cache
    _, new_secret = await repo.rotate(one.id)
    assert new_secret != secret_one
    assert await repo.authenticate(one.id, secret_one) is None  # the old secret dies at once
    assert await repo.authenticate(one.id, new_secret) is not None

    assert await repo.get_cached(one.id) is not None
    disabled = await repo.disable(one.id)
    assert not disabled.active
    assert (await repo.disable(one.id)).disabled_at == disabled.disabled_at  # idempotent
    cached = await repo.get_cached(one.id)
    assert cached is not None and not cached.active  # this process forgets its cache at once
    assert await repo.authenticate(one.id, new_secret) is None
    assert (await repo.enable(one.id)).active
    assert await repo.authenticate(one.id, new_secret) is not None

    limited = await repo.set_limits(two.id, rpm=7, tpm=None)
    assert (limited.rate_limit_rpm, limited.rate_limit_tpm) == (7, None)


async def test_bad_input_and_unknown_ids(repo: ClientRepository) -> None:
    with pytest.raises(ValueError, match="unknown scope"):
        await repo.create("x", "api/access superuser")
    with pytest.raises(ValueError, match="at least one scope"):
        await repo.create("x", "")
    with pytest.raises(ValueError, match=">= 0"):
        await repo.create("x", rpm=-1)
    for action in (repo.rotate, repo.disable, repo.enable):
        with pytest.raises(ClientNotFound):
            await action("emc_missing")
    assert await repo.get("emc_missing") is None
    assert await repo.count() == 0


async def test_bootstrap_creates_one_admin_client_once(database: Database, tmp_path) -> None:
    settings = Settings(data_dir=tmp_path)
    results = await asyncio.gather(*(ensure_bootstrap_client(database, settings) for _ in range(4)))
    created = [r for r in results if r is not None]
    assert len(created) == 1
    client_id, secret = created[0]
    async with database.session() as session:
        rows = (await session.scalars(select(ClientRow))).all()
    assert [row.id for row in rows] == [client_id]
    assert set(rows[0].scopes.split()) == {"api/access", "admin"}
    assert secret not in rows[0].secret_hash
    assert await ensure_bootstrap_client(database, settings) is None
    repo = ClientRepository(database)
    try:
        assert await repo.authenticate(client_id, secret) is not None
    finally:
        repo.close()


async def test_hash_is_upgraded_when_the_argon2_settings_change(database: Database) -> None:
    weak = ClientRepository(database, SecretHasher(time_cost=1, concurrency=1), cache_ttl=60)
    client, secret = await weak.create("app")
    weak.close()
    repo = ClientRepository(database, SecretHasher(time_cost=3, concurrency=1), cache_ttl=60)
    try:
        assert repo.hasher.needs_rehash(client.secret_hash)
        upgraded = await repo.authenticate(client.id, secret)
        assert upgraded is not None and upgraded.secret_hash != client.secret_hash
        assert not repo.hasher.needs_rehash(upgraded.secret_hash)
        stored = await repo.get(client.id)
        assert stored is not None and stored.secret_hash == upgraded.secret_hash
        assert await repo.authenticate(client.id, secret) is not None  # still the same secret
    finally:
        repo.close()
