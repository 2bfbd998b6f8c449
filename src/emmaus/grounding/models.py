"""Plain values the library hands out (no ORM objects leave the grounding package)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from emmaus.grounding.schema import DocumentRow, PublisherRow


@dataclass(frozen=True, slots=True)
class Publisher:
    id: int
    name: str
    owner_client_id: str | None
    revision: int

    @property
    def shared(self) -> bool:
        return self.owner_client_id is None

    @classmethod
    def of(cls, row: PublisherRow) -> Publisher:
        return cls(row.id, row.name, row.owner_client_id, row.revision)


@dataclass(frozen=True, slots=True)
class Document:
    id: int
    publisher: str
    source: str
    title: str
    url: str | None
    kind: str
    content_hash: str
    size_bytes: int
    chunk_count: int
    created_at: datetime
    updated_at: datetime
    shared: bool = False  # in a shared publisher: readable by every client, not theirs to change

    @classmethod
    def of(cls, row: DocumentRow, publisher: str, shared: bool = False) -> Document:
        return cls(
            row.id,
            publisher,
            row.source,
            row.title,
            row.url,
            row.kind,
            row.content_hash,
            row.size_bytes,
            row.chunk_count,
            row.created_at,
            row.updated_at,
            shared,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.id,
            "publisher": self.publisher,
            "shared": self.shared,
            "source": self.source,
            "title": self.title,
            "url": self.url,
            "kind": self.kind,
            "content_hash": self.content_hash,
            "size_bytes": self.size_bytes,
            "chunk_count": self.chunk_count,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: Literal["added", "updated", "unchanged"]
    document: Document


@dataclass(frozen=True, slots=True)
class Source:
    """A retrieved chunk with what a citation needs."""

    chunk_id: int
    document_id: int
    publisher: str
    title: str
    url: str | None
    text: str
    position: int
    similarity: float  # cosine similarity to the query, in [-1, 1]
    score: float  # fused rank score (orders the sources)
