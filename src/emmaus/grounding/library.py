"""The content library: publishers, documents and their chunks in the database.

Ingestion hashes the file's bytes: an unchanged file (same publisher and source) is skipped
without being parsed or embedded. Each document is written in one transaction together with a
bump of its publisher's `revision`, so an interrupted folder ingest resumes where it stopped and
every instance's index notices the change (`emmaus.grounding.retrieval`).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from emmaus.errors import (
    DocumentTooLarge,
    EmptyDocument,
    InvalidRequest,
    LibraryQuotaExceeded,
    PublisherNameShared,
)
from emmaus.grounding.chunking import chunk_text
from emmaus.grounding.embedder import Embedder
from emmaus.grounding.extract import Extracted, extract
from emmaus.grounding.limits import IngestLimits, LibraryQuota
from emmaus.grounding.models import Document, IngestResult, Publisher
from emmaus.grounding.sandbox import read_upload
from emmaus.grounding.schema import SHARED, ChunkRow, DocumentRow, PublisherRow
from emmaus.store import Database, utcnow

MAX_NAME = 200


def _scope(owner: str | None) -> str:
    return owner if owner is not None else SHARED


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


class Library:
    def __init__(
        self,
        db: Database,
        embedder: Embedder | None = None,
        *,
        limits: IngestLimits | None = None,
        quota: LibraryQuota | None = None,
    ) -> None:
        """`limits`: uploads are read in a bounded child process (`sandbox`); None reads them
        in a thread, unbounded (trusted files: the CLI's own ingest). `quota`: per client."""
        self.db = db
        self.embedder = embedder or Embedder()
        self.limits = limits
        self.quota = quota

    # Publishers

    async def publisher(
        self, name: str, owner: str | None = None, *, create: bool = False
    ) -> Publisher | None:
        """The publisher `name` of `owner` (None: the shared one), created on request. Asked
        for writing (`create`), a client's publisher may not take a shared publisher's name:
        `PublisherNameShared` (docs/library.md)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME:
            raise InvalidRequest(f"a publisher name has 1 to {MAX_NAME} characters")
        query = select(PublisherRow).where(
            PublisherRow.scope_key == _scope(owner), PublisherRow.name == name
        )
        if create and owner is not None:
            await self._not_shared(name)
        async with self.db.session() as s:
            row = (await s.execute(query)).scalar_one_or_none()
            if row is not None or not create:
                return None if row is None else Publisher.of(row)
        try:
            async with self.db.session() as s:
                row = PublisherRow(name=name, owner_client_id=owner, scope_key=_scope(owner))
                row.revision = 0
                s.add(row)
        except IntegrityError:  # created concurrently: read the winner's row
            return await self.publisher(name, owner)
        return Publisher.of(row)

    async def _not_shared(self, name: str) -> None:
        query = select(PublisherRow.id).where(
            PublisherRow.scope_key == SHARED, PublisherRow.name == name
        )
        async with self.db.session() as s:
            if (await s.execute(query)).first() is not None:
                raise PublisherNameShared(
                    f"{name!r} is a shared publisher (readable by every client, managed by the "
                    "operator); upload into a publisher name of your own"
                )

    async def readable(self, client_id: str | None, names: Sequence[str] | None) -> list[Publisher]:
        """Publishers `client_id` may read, by name: its own and the shared ones. A name held by
        both (a shared publisher created after the client's own) reads both, so neither hides
        the other. `names=None` means every readable publisher. Unknown names are left out."""
        scopes = [SHARED] if client_id is None else [client_id, SHARED]
        query = select(PublisherRow).where(PublisherRow.scope_key.in_(scopes))
        if names is not None:
            wanted = {n.strip() for n in names if n.strip()}
            if not wanted:
                return []
            query = query.where(PublisherRow.name.in_(wanted))
        async with self.db.session() as s:
            rows = (await s.execute(query)).scalars().all()
        return [Publisher.of(r) for r in sorted(rows, key=lambda r: r.id)]

    # Documents

    async def ingest(
        self,
        publisher: Publisher,
        source: str,
        data: bytes,
        *,
        content_type: str | None = None,
        title: str | None = None,
        url: str | None = None,
    ) -> IngestResult:
        """Add or replace the document `source` of `publisher` from the file's bytes."""
        digest = hashlib.sha256(data).hexdigest()
        existing = await self._document(publisher.id, source)
        if existing is not None and existing.content_hash == digest:
            return IngestResult("unchanged", Document.of(existing, publisher.name))
        await self._check_quota(publisher, adding=len(data), replacing=existing)
        if self.limits is not None:
            extracted = await read_upload(source, data, content_type, self.limits)
        else:
            extracted = await asyncio.to_thread(extract, source, data, content_type)
        return await self.ingest_text(
            publisher,
            source,
            Extracted(
                extracted.kind, title or extracted.title, extracted.text, url or extracted.url
            ),
            digest,
            len(data),
        )

    async def ingest_text(
        self, publisher: Publisher, source: str, doc: Extracted, digest: str, size: int
    ) -> IngestResult:
        existing = await self._document(publisher.id, source)
        if existing is not None and existing.content_hash == digest:
            return IngestResult("unchanged", Document.of(existing, publisher.name))
        chunks = chunk_text(doc.text)
        if not chunks:
            raise EmptyDocument(f"{source}: no text found")
        if self.limits is not None and len(chunks) > self.limits.max_chunks:
            most = self.limits.max_chunks
            raise DocumentTooLarge(f"{source}: {len(chunks):,} chunks (at most {most:,})")
        await self._check_quota(publisher, chunks=len(chunks), replacing=existing)
        # Embedding dominates ingest time; it runs off the event loop.
        vectors = await asyncio.to_thread(self.embedder.embed, [c.text for c in chunks])
        now = utcnow()
        async with self.db.session(write=True) as s:
            row = await self._document(publisher.id, source, s)
            status = "updated" if row is not None else "added"
            if row is None:
                row = DocumentRow(publisher_id=publisher.id, source=source, created_at=now)
                s.add(row)
            else:
                await s.execute(delete(ChunkRow).where(ChunkRow.document_id == row.id))
            row.title, row.url, row.kind = doc.title, doc.url, doc.kind
            row.content_hash, row.size_bytes, row.chunk_count = digest, size, len(chunks)
            row.updated_at = now
            await s.flush()
            s.add_all(
                ChunkRow(
                    document_id=row.id,
                    publisher_id=publisher.id,
                    position=c.position,
                    text=c.text,
                    token_count=c.token_count,
                    embedding=to_blob(v),
                )
                for c, v in zip(chunks, vectors, strict=True)
            )
            await self._bump(s, publisher.id)
        return IngestResult(status, Document.of(row, publisher.name))

    async def usage(self, owner: str) -> tuple[int, int, int]:
        """(documents, bytes, chunks) in `owner`'s own publishers."""
        query = (
            select(
                func.count(DocumentRow.id),
                func.coalesce(func.sum(DocumentRow.size_bytes), 0),
                func.coalesce(func.sum(DocumentRow.chunk_count), 0),
            )
            .join(PublisherRow, PublisherRow.id == DocumentRow.publisher_id)
            .where(PublisherRow.owner_client_id == owner)
        )
        async with self.db.session() as s:
            documents, size, chunks = (await s.execute(query)).one()
        return int(documents), int(size), int(chunks)

    async def _check_quota(
        self,
        publisher: Publisher,
        *,
        adding: int = 0,
        chunks: int = 0,
        replacing: DocumentRow | None = None,
    ) -> None:
        owner = publisher.owner_client_id
        if self.quota is None or owner is None:
            return
        documents, size, stored_chunks = await self.usage(owner)
        if replacing is not None:  # an update frees what it replaces
            documents, size = documents - 1, size - replacing.size_bytes
            stored_chunks -= replacing.chunk_count
        quota = self.quota
        if documents + 1 > quota.max_documents:
            raise LibraryQuotaExceeded(f"your library holds {quota.max_documents:,} documents")
        if size + adding > quota.max_bytes:
            raise LibraryQuotaExceeded(f"your library holds {quota.max_bytes:,} bytes")
        if stored_chunks + chunks > quota.max_chunks:
            raise LibraryQuotaExceeded(f"your library holds {quota.max_chunks:,} chunks")

    async def _document(
        self, publisher_id: int, source: str, session: AsyncSession | None = None
    ) -> DocumentRow | None:
        query = select(DocumentRow).where(
            DocumentRow.publisher_id == publisher_id, DocumentRow.source == source
        )
        if session is not None:
            return (await session.execute(query)).scalar_one_or_none()
        async with self.db.session() as s:
            return (await s.execute(query)).scalar_one_or_none()

    async def _bump(self, s: AsyncSession, publisher_id: int) -> None:
        await s.execute(
            update(PublisherRow)
            .where(PublisherRow.id == publisher_id)
            .values(revision=PublisherRow.revision + 1)
        )

    async def documents(
        self, owner: str | None, publisher: str | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Document]:
        """Documents in the publishers `owner` owns (None: the shared ones), newest first."""
        query = (
            select(DocumentRow, PublisherRow.name)
            .join(PublisherRow, PublisherRow.id == DocumentRow.publisher_id)
            .where(PublisherRow.scope_key == _scope(owner))
            .order_by(DocumentRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if publisher is not None:
            query = query.where(PublisherRow.name == publisher)
        async with self.db.session() as s:
            rows = (await s.execute(query)).all()
        return [Document.of(doc, name) for doc, name in rows]

    async def delete_document(self, owner: str | None, document_id: int) -> bool:
        """Delete a document of a publisher `owner` owns; False when there is none such (another
        client's document is indistinguishable from a missing one)."""
        query = (
            select(DocumentRow)
            .join(PublisherRow, PublisherRow.id == DocumentRow.publisher_id)
            .where(DocumentRow.id == document_id, PublisherRow.scope_key == _scope(owner))
        )
        async with self.db.session(write=True) as s:
            row = (await s.execute(query)).scalar_one_or_none()
            if row is None:
                return False
            await s.execute(delete(ChunkRow).where(ChunkRow.document_id == row.id))
            await s.execute(delete(DocumentRow).where(DocumentRow.id == row.id))
            await self._bump(s, row.publisher_id)
        return True


__all__ = ["EmptyDocument", "Library"]
