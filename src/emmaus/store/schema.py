"""Declarative base and the tables. Every change here needs an Alembic migration in
`emmaus/store/migrations/versions/`; `tests/store/test_migrations.py` fails when they diverge."""

from __future__ import annotations

import importlib
from datetime import datetime

from sqlalchemy import Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from emmaus.store.types import UTCDateTime, utcnow

# Named constraints so migrations can drop/alter them by name (and SQLite batch mode works).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: Every module that defines tables on `Base`. Add yours here: migrations (autogenerate) and the
#: model/migration consistency test import them all through `all_metadata()`.
TABLE_MODULES: tuple[str, ...] = (
    "emmaus.store.schema",
    "emmaus.conversations.schema",
    "emmaus.grounding.schema",
    "emmaus.usage.schema",
)


def all_metadata() -> MetaData:
    for module in TABLE_MODULES:
        importlib.import_module(module)
    return Base.metadata


class ClientRow(Base):
    """An OAuth2 client (one API credential). Every stored object belongs to one."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(255))
    scopes: Mapped[str] = mapped_column(String(255), doc="space-separated, as in the JWT claim")
    rate_limit_rpm: Mapped[int | None] = mapped_column(Integer, doc="NULL = the configured default")
    rate_limit_tpm: Mapped[int | None] = mapped_column(Integer, doc="NULL = the configured default")
    routing_preference: Mapped[str | None] = mapped_column(
        String(16), doc="quality | balanced | cost for auto-routing; NULL = balanced"
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
