"""Where a route finds the running system: `app.state.system`, built by the app's lifespan."""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request

from emmaus.auth import AuthContext
from emmaus.services.completions import CompletionRequest
from emmaus.system import System


def system_of(request: Request) -> System:
    system: System = request.app.state.system
    return system


def for_client(
    domain: CompletionRequest, auth: AuthContext, asked: str | None
) -> CompletionRequest:
    """The request as the calling client makes it: its safety policy, and its default routing
    preference unless the request names one."""
    domain.client_id = auth.client_id
    if asked is None and auth.routing_preference:
        domain.routing = replace(domain.routing, preference=auth.routing_preference)  # type: ignore[arg-type]
    return domain
