"""`POST /ai/v2/chat/completions/grounded`: retrieve from the caller's publisher, answer with the
sources in the prompt, and return `sources_returned` and (on request) the citations. Streams send
the citations as the first SSE event, before any content chunk. The grounding itself is
`GroundedService`'s; this module renders it."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from emmaus.api.common.model_calls import CLIENT_CLOSED_REQUEST, sse_response
from emmaus.api.common.schemas import COMPLETION_ERRORS
from emmaus.api.common.state import for_client, system_of
from emmaus.api.completions.chunks import ChunkWriter, completion_body
from emmaus.api.completions.serving import (
    complete_unless_gone,
    open_stream_unless_gone,
    sse_events,
)
from emmaus.api.grounded.protocol import GroundedCompletion, GroundedCompletionRequest
from emmaus.auth import AuthContext, require_api_access, reserve_tokens
from emmaus.errors import EmptyMessages
from emmaus.grounding.citations import Citation

router = APIRouter()


def _grounding_fields(
    citations: list[Citation], include: bool, *, answered: bool
) -> dict[str, Any]:
    fields: dict[str, Any] = {"sources_returned": bool(citations)}
    if include:
        items = []
        for c in citations:
            item = c.to_dict()
            if answered:
                item["cited"] = c.cited
            items.append(item)
        fields["citations"] = items
    return fields


class GroundedChunkWriter(ChunkWriter):
    def grounding(self, fields: dict[str, Any]) -> bytes:
        """The first event: no choices (SDKs skip it), the grounding fields at the top level."""
        return self._event({**self._head, "choices": [], **fields})


@router.post(
    "/chat/completions/grounded",
    dependencies=[Depends(reserve_tokens)],  # tokens held for the model call
    response_model=GroundedCompletion,
    responses=COMPLETION_ERRORS,
    summary="Chat completion grounded in a publisher's content, with citations",
)
async def grounded_completions(
    body: GroundedCompletionRequest,
    request: Request,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    if body.messages is not None and not body.messages:
        raise EmptyMessages("messages must not be empty; omit it to use the default message")
    system = system_of(request)
    domain = for_client(body.to_domain(), auth, body.routing_preference)
    call = await system.grounded.prepare(
        auth.client_id, domain, [body.rag_publisher], body.sources_limit
    )
    service = system.completions
    if body.stream:
        opened = await open_stream_unless_gone(
            request, service, call.request, call.decision, call.safety
        )
        if opened is None:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        served, deltas = opened
        writer = GroundedChunkWriter(served, body.tradition, body.include_usage)
        fields = _grounding_fields(call.citations, body.include_citations, answered=False)
        events = sse_events(
            writer, call.checked_stream(deltas), served, request, prelude=writer.grounding(fields)
        )
        return sse_response(events)
    answered = await complete_unless_gone(
        request, service, call.request, call.decision, call.safety
    )
    if answered is None:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    served, result = answered
    out = orjson.loads(completion_body(served, body.tradition, call.checked(result)))
    out.update(_grounding_fields(call.citations, body.include_citations, answered=True))
    return Response(orjson.dumps(out), media_type="application/json")
