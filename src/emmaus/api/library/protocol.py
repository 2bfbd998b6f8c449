"""Wire schemas of the content library endpoints (`/ai/v2/library/...`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DocumentOut(BaseModel):
    document_id: int
    publisher: str
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


class DocumentList(BaseModel):
    data: list[DocumentOut]


class PublisherOut(BaseModel):
    name: str
    shared: bool


class PublisherList(BaseModel):
    data: list[PublisherOut]
