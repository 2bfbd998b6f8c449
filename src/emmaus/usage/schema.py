"""The usage ledger's table (one row per model call, append-only; migration
`0007_usage_ledger.py`) and the clients' monthly budgets (`0008_client_budgets.py`).

The queries it serves read a time range, for everyone (admin) or one client: an index on
`created_at`, and one on `(client_id, created_at)`. `day` (the UTC date, `YYYY-MM-DD`) is
written with the row so grouping by day is the same plain column on SQLite and PostgreSQL.
No foreign key to `clients`: the ledger outlives deleted clients and inserts stay cheap."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from emmaus.store.schema import Base
from emmaus.store.types import UTCDateTime

# SQLite gives auto-increment only to an INTEGER PRIMARY KEY.
ROW_ID = BigInteger().with_variant(Integer(), "sqlite")


class UsageRow(Base):
    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_created", "created_at"),
        Index("ix_usage_events_client_created", "client_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(ROW_ID, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    day: Mapped[str] = mapped_column(String(10), doc="UTC date of created_at, YYYY-MM-DD")
    client_id: Mapped[str | None] = mapped_column(String(64), doc="NULL: no client (the CLI)")
    model: Mapped[str] = mapped_column(String(200), doc="the catalog id that answered")
    route: Mapped[str] = mapped_column(String(200), doc="route template, or 'internal'")
    request_id: Mapped[str | None] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), doc="ok | error | cancelled | safety")
    latency_ms: Mapped[int] = mapped_column(Integer)
    streamed: Mapped[bool] = mapped_column(Boolean)


class BudgetRow(Base):
    """A client's monthly budgets (UTC calendar months); a missing row or NULL: no budget.
    Migration: `0008_client_budgets.py`."""

    __tablename__ = "client_budgets"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    monthly_tokens: Mapped[int | None] = mapped_column(BigInteger, doc="prompt + completion")
    monthly_cost_usd: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
