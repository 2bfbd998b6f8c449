"""Persistence: the async engine (`Database`), the declarative `Base` and tables, migrations."""

from emmaus.store.database import Database, database_url_for, normalise_url
from emmaus.store.migrate import current_revision, head_revision, upgrade, upgrade_database
from emmaus.store.schema import Base, ClientRow
from emmaus.store.types import UTCDateTime, utcnow

__all__ = [
    "Base",
    "ClientRow",
    "Database",
    "UTCDateTime",
    "current_revision",
    "database_url_for",
    "head_revision",
    "normalise_url",
    "upgrade",
    "upgrade_database",
    "utcnow",
]
