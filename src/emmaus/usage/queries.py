"""Reading the ledger: totals over a time range, grouped by model, day or client, for one client
or everyone. Each query is one range scan of an index (`created_at`, or `client_id,
created_at`), aggregated by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import case, func, select

from emmaus.store import Database
from emmaus.usage.schema import UsageRow

GroupBy = Literal["model", "day", "client"]
GROUPS: tuple[GroupBy, ...] = ("model", "day", "client")
_COLUMNS = {"model": UsageRow.model, "day": UsageRow.day, "client": UsageRow.client_id}


@dataclass(frozen=True, slots=True)
class UsageTotals:
    key: str | None  # the model id, the day (YYYY-MM-DD) or the client id
    requests: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    errors: int  # calls that did not end ok (error, cancelled)
    avg_latency_ms: float

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "requests": self.requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 8),
            "errors": self.errors,
            "avg_latency_ms": round(self.avg_latency_ms, 1),
        }


def month_start(now: datetime | None = None) -> datetime:
    """00:00 UTC on the first day of `now`'s month."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def summarise(
    db: Database,
    *,
    start: datetime,
    end: datetime,
    group_by: GroupBy = "model",
    client_id: str | None = None,
) -> list[UsageTotals]:
    """Totals for calls with `start <= created_at < end`, by `group_by`, ordered by key;
    only `client_id`'s when given."""
    column = _COLUMNS[group_by]
    failed = func.sum(case((UsageRow.status.in_(("error", "cancelled")), 1), else_=0))
    query = (
        select(
            column,
            func.count(),
            func.coalesce(func.sum(UsageRow.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRow.completion_tokens), 0),
            func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
            func.coalesce(failed, 0),
            func.coalesce(func.avg(UsageRow.latency_ms), 0.0),
        )
        .where(UsageRow.created_at >= start, UsageRow.created_at < end)
        .group_by(column)
        .order_by(column)
    )
    if client_id is not None:
        query = query.where(UsageRow.client_id == client_id)
    async with db.session() as session:
        rows = (await session.execute(query)).all()
    return [
        UsageTotals(key, int(n), int(p), int(c), float(cost), int(err), float(latency))
        for key, n, p, c, cost, err, latency in rows
    ]


def overall(groups: list[UsageTotals]) -> UsageTotals:
    """The sum of `groups` (the report's total line)."""
    requests = sum(g.requests for g in groups)
    latency = sum(g.avg_latency_ms * g.requests for g in groups) / requests if requests else 0.0
    return UsageTotals(
        None,
        requests,
        sum(g.prompt_tokens for g in groups),
        sum(g.completion_tokens for g in groups),
        sum(g.cost_usd for g in groups),
        sum(g.errors for g in groups),
        latency,
    )
