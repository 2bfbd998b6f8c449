"""Wire schemas of the content library endpoints (`/ai/v2/library/...`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DocumentOut(BaseModel):
    document_id: int
    publisher: str
    shared: bool = Field(
        description="In a shared publisher: readable by every client, managed by the operator"
    )
    source: str
    title: str
    url: str | None
    kind: str
    content_hash: str
    size_bytes: int
    chunk_count: int
    created_at: str
    updated_at: str


class IngestOut(BaseModel):
    status: str = Field(description="added, updated or unchanged")
    document: DocumentOut


class DocumentCounts(BaseModel):
    own: int = Field(description="Documents of your own publishers matching the filter")
    shared: int = Field(description="Documents of shared publishers matching the filter")
    total: int


class DocumentList(BaseModel):
    data: list[DocumentOut]
    counts: DocumentCounts = Field(description="Over every page, not only this one")


class PublisherOut(BaseModel):
    name: str
    shared: bool
    documents: int
    chunks: int


class PublisherList(BaseModel):
    data: list[PublisherOut]
