"""Where a route finds the running system: `app.state.system`, built by the app's lifespan."""

from __future__ import annotations

from fastapi import Request

from emmaus.system import System


def system_of(request: Request) -> System:
    system: System = request.app.state.system
    return system
