"""Wire schemas of `GET /platform/v2/usage`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from emmaus.usage.queries import UsageTotals


class UsageGroup(BaseModel):
    key: str | None = Field(description="The model id, the day (YYYY-MM-DD) or the client id")
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float = Field(description="From the catalog's prices at the time of each call")
    errors: int = Field(description="Calls that failed or were cancelled")
    avg_latency_ms: float

    @classmethod
    def of(cls, totals: UsageTotals) -> UsageGroup:
        return cls.model_validate(totals.to_dict())


class UsageReport(BaseModel):
    object: Literal["usage"] = "usage"
    start: datetime = Field(serialization_alias="from")
    end: datetime = Field(serialization_alias="to")
    group_by: Literal["model", "day", "client"]
    client_id: str | None = Field(description="Whose usage; null: every client (admin)")
    data: list[UsageGroup]
    total: UsageGroup
