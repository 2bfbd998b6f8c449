"""`GET /platform/v2/usage?from=&to=&group_by=model|day|client[&client_id=]`: totals of the usage
ledger. A client sees its own usage; a token with the `admin` scope sees every client's, or one
client's with `client_id`. `from` defaults to the start of this month (UTC), `to` to now; a date
or a date-time without a zone is UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.schemas import error_responses
from emmaus.api.common.state import system_of
from emmaus.api.ops.protocol import PROTECTED
from emmaus.api.usage.protocol import UsageGroup, UsageReport
from emmaus.auth import SCOPE_ADMIN, AuthContext, require_scope
from emmaus.auth.errors import forbidden
from emmaus.errors import InvalidRequest
from emmaus.usage.queries import GroupBy, month_start, overall, summarise

router = APIRouter()

MAX_RANGE = timedelta(days=366)


def _utc(value: datetime, name: str) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise InvalidRequest(f"`{name}` is out of range") from exc


@router.get(
    "/usage",
    response_model=UsageReport,
    responses={**error_responses({422: "Invalid range or grouping"}), **PROTECTED},
    summary="Usage and cost totals by model, day or client",
)
async def usage(
    request: Request,
    start: datetime | None = Query(None, alias="from", description="Inclusive; default: month"),
    end: datetime | None = Query(None, alias="to", description="Exclusive; default: now"),
    group_by: GroupBy = Query("model"),
    client_id: str | None = Query(None, max_length=64, description="Admin only: one client"),
    auth: AuthContext = Depends(require_scope()),
) -> Response:
    admin = SCOPE_ADMIN in auth.scopes
    if client_id is not None and client_id != auth.client_id and not admin:
        raise forbidden()
    scope = client_id if admin else auth.client_id
    end = _utc(end, "to") if end is not None else datetime.now(UTC)
    # By default the month `to` falls in (for a `to` at midnight on the 1st, the month before).
    just_before = end - timedelta(microseconds=1)
    start = month_start(just_before) if start is None else _utc(start, "from")
    if start >= end:
        raise InvalidRequest("`from` must be earlier than `to`")
    if end - start > MAX_RANGE:
        raise InvalidRequest("the range may span at most 366 days")
    db = system_of(request).db
    groups = await summarise(db, start=start, end=end, group_by=group_by, client_id=scope)
    report = UsageReport(
        start=start,
        end=end,
        group_by=group_by,
        client_id=scope,
        data=[UsageGroup.of(g) for g in groups],
        total=UsageGroup.of(overall(groups)),
    )
    return json_response(report.model_dump(mode="json", by_alias=True))
