"""FastAPI's own OpenTelemetry instrumentation (FastAPI >= 0.165), turned off: Emmaus makes its
own spans (`emmaus.observability.tracing`), and FastAPI's would be a second SERVER span per
request outside them, plus log records of validation failures that carry the request's input
(message text must never reach the logs)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI

_OFF = {"tracing": False, "metrics": False, "logs": False}


def fastapi_options() -> dict[str, Any]:
    """Keyword arguments for `FastAPI(...)`: telemetry off where FastAPI has it."""
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters:
        return {"telemetry": dict(_OFF)}
    return {}
