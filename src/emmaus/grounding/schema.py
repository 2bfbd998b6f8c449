"""Tables of the content library: publishers, documents, chunks (migration 0003).

A publisher is owned by one client (`owner_client_id`) or shared (NULL owner, readable by every
client, managed from the CLI). `scope_key` is the owner id or `*`, so "one name per owner" is a
plain unique constraint on both back ends (NULLs never collide in a unique index). A chunk keeps
its embedding (384 float32, little-endian) so every instance can rebuild its index from the
database; `revision` on the publisher tells instances that their copy is stale.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from emmaus.store.schema import Base
from emmaus.store.types import UTCDateTime, utcnow

SHARED = "*"

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class PublisherRow(Base):
    __tablename__ = "publishers"
    __table_args__ = (UniqueConstraint("scope_key", "name"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_client_id: Mapped[str | None] = mapped_column(
        String(64), ForeignKey("clients.id", ondelete="CASCADE")
    )
    scope_key: Mapped[str] = mapped_column(String(64), doc="owner id, or '*' when shared")
    revision: Mapped[int] = mapped_column(Integer, default=0, doc="bumped on every change")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class DocumentRow(Base):
    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("publisher_id", "source"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    publisher_id: Mapped[int] = mapped_column(_ID, ForeignKey("publishers.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(1000), doc="path or upload name; the doc's key")
    title: Mapped[str] = mapped_column(String(300))
    url: Mapped[str | None] = mapped_column(String(2000))
    kind: Mapped[str] = mapped_column(String(20), doc="text, markdown, html or pdf")
    content_hash: Mapped[str] = mapped_column(String(64), doc="sha256 of the file's bytes")
    size_bytes: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ChunkRow(Base):
    __tablename__ = "chunks"
    __table_args__ = (Index("ix_chunks_publisher_id_id", "publisher_id", "id"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        _ID, ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    publisher_id: Mapped[int] = mapped_column(_ID, doc="denormalised: shards load by publisher")
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    token_count: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[bytes] = mapped_column(LargeBinary)
