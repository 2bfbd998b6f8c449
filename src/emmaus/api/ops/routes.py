"""`/healthz` (the process answers), `/readyz` (it can serve: 503 and what is missing when not)
and `/metrics` (Prometheus text; an admin-scope token unless `EMMAUS_METRICS_AUTH=none`; absent
when `EMMAUS_METRICS_LISTEN` serves it on an address of its own, or `EMMAUS_METRICS=false`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import Response

from emmaus import __version__
from emmaus.api.common.errors import json_response
from emmaus.api.common.state import system_of
from emmaus.api.ops.protocol import PROTECTED, Liveness, ReadinessOut
from emmaus.auth import require_admin
from emmaus.config import Settings
from emmaus.observability import exposition

router = APIRouter()


@router.get("/healthz", response_model=Liveness, summary="Liveness: the process answers")
async def healthz() -> Response:
    return json_response({"status": "ok", "version": __version__})


@router.get(
    "/readyz",
    response_model=ReadinessOut,
    responses={503: {"model": ReadinessOut, "description": "Not ready: the failing checks"}},
    summary="Readiness: database, Redis, and the models",
)
async def readyz(request: Request) -> Response:
    readiness = system_of(request).readiness
    assert readiness is not None  # System.start always builds it
    body = ReadinessOut.of(await readiness.report())
    status = 200 if body.status == "ready" else 503
    return json_response(body.model_dump(), status, {"Cache-Control": "no-store"})


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format"},
        404: {"description": "Metrics are off, or served on EMMAUS_METRICS_LISTEN"},
        **PROTECTED,
    },
    summary="Prometheus metrics (admin scope)",
)
async def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.metrics or settings.metrics_listen:
        return json_response({"detail": "Not Found"}, 404)
    if settings.metrics_auth == "admin":
        await require_admin(request)
    body = await asyncio.to_thread(exposition.render)  # reads every worker's files
    return Response(body, media_type=exposition.CONTENT_TYPE)
