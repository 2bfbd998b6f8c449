"""What a client sees of the library: its own documents and the shared publishers' together,
each marked `shared` or not, with counts, and the publishers it can retrieve from with their
sizes. Read-only; `library.py` writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Select, func, select

from emmaus.grounding.models import Document
from emmaus.grounding.schema import SHARED, DocumentRow, PublisherRow
from emmaus.store import Database

Scope = Literal["all", "own", "shared"]


@dataclass(frozen=True, slots=True)
class DocumentPage:
    documents: list[Document]
    own: int  # documents of the client's own publishers matching the filter (all pages)
    shared: int  # documents of shared publishers matching the filter (all pages)


@dataclass(frozen=True, slots=True)
class PublisherSize:
    name: str
    shared: bool
    documents: int
    chunks: int


def _scopes(client_id: str, scope: Scope) -> list[str]:
    return {"all": [client_id, SHARED], "own": [client_id], "shared": [SHARED]}[scope]


def _filtered(query: Select, scopes: list[str], publisher: str | None) -> Select:  # type: ignore[type-arg]
    query = query.where(PublisherRow.scope_key.in_(scopes))
    return query if publisher is None else query.where(PublisherRow.name == publisher)


async def list_documents(
    db: Database,
    client_id: str,
    *,
    publisher: str | None = None,
    scope: Scope = "all",
    limit: int = 100,
    offset: int = 0,
) -> DocumentPage:
    """The documents `client_id` can retrieve from, newest first, and how many there are."""
    scopes = _scopes(client_id, scope)
    rows_query = _filtered(
        select(DocumentRow, PublisherRow.name, PublisherRow.scope_key).join(
            PublisherRow, PublisherRow.id == DocumentRow.publisher_id
        ),
        scopes,
        publisher,
    )
    counts_query = _filtered(
        select(PublisherRow.scope_key, func.count(DocumentRow.id))
        .join(PublisherRow, PublisherRow.id == DocumentRow.publisher_id)
        .group_by(PublisherRow.scope_key),
        scopes,
        publisher,
    )
    async with db.session() as s:
        rows = (
            await s.execute(rows_query.order_by(DocumentRow.id.desc()).limit(limit).offset(offset))
        ).all()
        counts = {key: int(n) for key, n in (await s.execute(counts_query)).all()}
    documents = [Document.of(doc, name, key == SHARED) for doc, name, key in rows]
    own = sum(n for key, n in counts.items() if key != SHARED)
    return DocumentPage(documents, own=own, shared=counts.get(SHARED, 0))


async def publisher_sizes(db: Database, client_id: str) -> list[PublisherSize]:
    """Every publisher `client_id` can retrieve from (its own, then the shared ones, by name),
    with its document and chunk counts."""
    query = (
        select(
            PublisherRow.name,
            PublisherRow.scope_key,
            func.count(DocumentRow.id),
            func.coalesce(func.sum(DocumentRow.chunk_count), 0),
        )
        .outerjoin(DocumentRow, DocumentRow.publisher_id == PublisherRow.id)
        .where(PublisherRow.scope_key.in_([client_id, SHARED]))
        .group_by(PublisherRow.id, PublisherRow.name, PublisherRow.scope_key)
    )
    async with db.session() as s:
        rows = (await s.execute(query)).all()
    sizes = [
        PublisherSize(name, key == SHARED, int(docs), int(chunks))
        for name, key, docs, chunks in rows
    ]
    return sorted(sizes, key=lambda p: (p.shared, p.name))


async def is_shared_document(db: Database, document_id: int) -> bool:
    query = (
        select(DocumentRow.id)
        .join(PublisherRow, PublisherRow.id == DocumentRow.publisher_id)
        .where(DocumentRow.id == document_id, PublisherRow.scope_key == SHARED)
    )
    async with db.session() as s:
        return (await s.execute(query)).first() is not None
