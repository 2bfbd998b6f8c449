"""`POST /ai/v2/route`: what routing would do with a v2 request body (model, tier, confidence,
reason, candidates), without calling a model: a dry run for tuning and for trust."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.schemas import COMPLETION_ERRORS
from emmaus.api.common.state import for_client, system_of
from emmaus.api.completions.protocol import ChatCompletionRequest
from emmaus.api.routing.protocol import RouteDecision
from emmaus.auth import AuthContext, require_api_access
from emmaus.engine.router import needed
from emmaus.services.completions import prompt_tokens

router = APIRouter()


@router.post(
    "/route",
    response_model=RouteDecision,
    responses=COMPLETION_ERRORS,
    summary="Dry run: how a v2 completion request would be routed (no model is called)",
)
async def route(
    body: ChatCompletionRequest,
    request: Request,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    domain = for_client(body.to_domain(), auth, body.routing_preference)
    decision = system_of(request).completions.decide(domain)
    sized = replace(
        domain.routing,
        prompt_tokens=prompt_tokens(domain),
        output_tokens=domain.params.max_tokens or 0,
    )
    chosen = decision.model
    return json_response(
        {
            "routing_mechanism": decision.mechanism,
            "model": chosen.id,
            "provider": chosen.vendor,
            "model_family": chosen.family_display,
            "routing_tier": decision.tier_name,
            "routing_confidence": decision.confidence,
            "routing_reason": decision.reason,
            "routing_preference": decision.preference,
            "probabilities": list(decision.probabilities) if decision.probabilities else None,
            "signals": list(decision.signals),
            "candidates": [
                {
                    "id": m.id,
                    "tier": m.tier_name,
                    "family": m.family_display,
                    "context_window": m.context_window,
                    "input_cost_per_1k": m.input_cost_per_1k,
                    "output_cost_per_1k": m.output_cost_per_1k,
                }
                for m in decision.chain
            ],
            "needed_tokens": needed(sized, chosen),
        }
    )
