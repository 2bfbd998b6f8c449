"""Retrieval over the library: keeps the embedded index in step with the database and turns
hits into `Source`s.

Each search resolves the publisher names the caller may read (one small query) and so learns
their current `revision`; a shard whose revision is behind is reloaded from the chunk rows. Thus
an ingest by the CLI, or by another instance on the same PostgreSQL, is visible on the next
search, and the index is loaded lazily, once per publisher, on first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
from sqlalchemy import select

from emmaus.grounding.embedder import DIMENSIONS
from emmaus.grounding.extract import web_link
from emmaus.grounding.index import DEFAULT_FLOOR, HybridIndex, Shard
from emmaus.grounding.library import Library
from emmaus.grounding.models import Publisher, Source
from emmaus.grounding.schema import ChunkRow, DocumentRow, PublisherRow

MAX_QUERY_CHARS = 2000
MAX_LIMIT = 10


class Retriever:
    def __init__(self, library: Library, floor: float = DEFAULT_FLOOR) -> None:
        self.library = library
        self.index = HybridIndex(floor=floor)
        self._locks: dict[int, asyncio.Lock] = {}

    async def _load(self, publisher: Publisher) -> None:
        lock = self._locks.setdefault(publisher.id, asyncio.Lock())
        async with lock:
            current = self.index.revision(publisher.id)
            if current is not None and current >= publisher.revision:
                return
            # Read the revision before the rows: a shard may be newer than its tag (it is then
            # reloaded once more), never older.
            async with self.library.db.session() as s:
                revision = (
                    await s.execute(
                        select(PublisherRow.revision).where(PublisherRow.id == publisher.id)
                    )
                ).scalar_one_or_none()
                rows = (
                    await s.execute(
                        select(ChunkRow.id, ChunkRow.text, ChunkRow.embedding)
                        .where(ChunkRow.publisher_id == publisher.id)
                        .order_by(ChunkRow.id)
                    )
                ).all()
            if revision is None:
                self.index.drop(publisher.id)
                return
            ids = [r[0] for r in rows]
            texts = [r[1] for r in rows]
            matrix = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4")
            matrix = matrix.reshape(len(rows), DIMENSIONS)
            shard = await asyncio.to_thread(Shard, publisher.id, revision, ids, texts, matrix)
            self.index.put(shard)

    async def refresh(self, publishers: Sequence[Publisher]) -> None:
        for publisher in publishers:
            if (self.index.revision(publisher.id) or -1) < publisher.revision:
                await self._load(publisher)

    async def search(
        self,
        client_id: str | None,
        query: str,
        publishers: Sequence[str] | None,
        limit: int = 3,
    ) -> list[Source]:
        """The best chunks for `query` above the relevance floor, from the named publishers the
        client may read (`None`: all of them), best first."""
        query = " ".join(query.split())[:MAX_QUERY_CHARS]
        limit = max(1, min(limit, MAX_LIMIT))
        if not query:
            return []
        readable = await self.library.readable(client_id, publishers)
        if not readable:
            return []
        await self.refresh(readable)
        vector = await asyncio.to_thread(self.library.embedder.embed_one, query)
        hits = self.index.search(vector, query, [p.id for p in readable], limit)
        if not hits:
            return []
        names = {p.id: p.name for p in readable}
        async with self.library.db.session() as s:
            rows = (
                await s.execute(
                    select(ChunkRow, DocumentRow.title, DocumentRow.url)
                    .join(DocumentRow, DocumentRow.id == ChunkRow.document_id)
                    .where(ChunkRow.id.in_([h.chunk_id for h in hits]))
                )
            ).all()
        found = {chunk.id: (chunk, title, url) for chunk, title, url in rows}
        sources = []
        for hit in hits:
            if hit.chunk_id not in found:  # deleted since the shard was built
                continue
            chunk, title, url = found[hit.chunk_id]
            sources.append(
                Source(
                    chunk.id,
                    chunk.document_id,
                    names[hit.publisher_id],
                    title,
                    web_link(url),  # rows stored before links were checked, too
                    chunk.text,
                    chunk.position,
                    hit.similarity,
                    hit.score,
                )
            )
        return sources
