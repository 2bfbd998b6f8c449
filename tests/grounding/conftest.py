"""Fixtures for the content library: one embedder per session, a library on each back end, and
clients to own publishers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from emmaus.grounding.embedder import Embedder
from emmaus.grounding.library import Library
from emmaus.grounding.retrieval import Retriever
from emmaus.store import ClientRow, Database


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return Embedder()


async def add_client(db: Database, client_id: str) -> str:
    async with db.session() as s:
        s.add(ClientRow(id=client_id, name=client_id, secret_hash="x", scopes="api/access"))
    return client_id


@pytest.fixture
async def library(database: Database, embedder: Embedder) -> AsyncIterator[Library]:
    await add_client(database, "client-a")
    await add_client(database, "client-b")
    yield Library(database, embedder)


@pytest.fixture
def retriever(library: Library) -> Retriever:
    return Retriever(library)
