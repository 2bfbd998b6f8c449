"""`POST /ai/v2/moderations`: the safety layer's classifier over one text or a list of texts, in
OpenAI's moderation shape, each text judged on its own."""

from __future__ import annotations

import secrets
from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from emmaus.api.common.errors import json_response
from emmaus.api.common.schemas import error_responses
from emmaus.api.common.state import system_of
from emmaus.api.moderations.protocol import ModerationRequest, ModerationResponse
from emmaus.auth import AuthContext, require_api_access

router = APIRouter()
MODEL = "emmaus-safety-1"


@router.post(
    "/moderations",
    response_model=ModerationResponse,
    responses=error_responses({413: "Request body too large", 422: "Too many or too long inputs"}),
    summary="Classify text for harmful content and crisis (OpenAI's moderation shape)",
)
async def moderations(
    body: ModerationRequest,
    request: Request,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    results = system_of(request).safety.moderate(body.texts(), auth.client_id)
    return json_response(
        {
            "id": "modr-" + secrets.token_hex(12),
            "model": MODEL,
            "results": [asdict(result) for result in results],
        }
    )
