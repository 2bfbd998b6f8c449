"""Wire schemas of the operations routes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from emmaus.services.readiness import Report

_ERROR_BODY = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
# What a protected operations route can answer besides 200 (`{"error", "code"}` bodies).
PROTECTED = {
    status: {"description": text, "content": _ERROR_BODY}
    for status, text in {
        401: "Missing, invalid or expired bearer token",
        403: "The token lacks the scope this route needs",
        429: "Rate limit exceeded",
        503: "The rate limiter is unavailable",
    }.items()
}


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class CheckOut(BaseModel):
    ok: bool
    required: bool = Field(description="Whether a failure alone makes the instance unready")
    detail: str | None = Field(default=None, description="Why it failed (the error's kind)")


class ReadinessOut(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, CheckOut] = Field(
        description="`database`, `redis` (when configured), `model:<id>` for each catalog model"
    )

    @classmethod
    def of(cls, report: Report) -> ReadinessOut:
        return cls(
            status="ready" if report.ready else "not_ready",
            checks={
                c.name: CheckOut(ok=c.ok, required=c.required, detail=c.detail or None)
                for c in report.checks
            },
        )
