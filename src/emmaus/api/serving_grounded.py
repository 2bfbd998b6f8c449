"""`POST /ai/v2/chat/completions/grounded`: retrieve from the caller's publisher, answer with the
sources in the prompt, and return `sources_returned` and (on request) the citations. Streams send
the citations as the first SSE event, before any content chunk."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from emmaus.api.chunks import ChunkWriter, completion_body
from emmaus.api.model_calls import (
    CLIENT_CLOSED_REQUEST,
    ClientGone,
    sse_response,
    until_disconnect,
)
from emmaus.api.protocol_grounded import GroundedCompletion, GroundedCompletionRequest
from emmaus.api.serving_completions import (
    COMPLETION_ERRORS,
    complete_unless_gone,
    completion_service,
    sse_events,
)
from emmaus.auth import AuthContext, require_api_access
from emmaus.engine.types import StreamDelta
from emmaus.errors import EmmausError, InvalidRequest
from emmaus.grounding.citations import (
    Citation,
    MarkerFilter,
    context_message,
    group_sources,
    last_user_text,
    validate_answer,
)
from emmaus.grounding.retrieval import Retriever

log = logging.getLogger(__name__)
router = APIRouter()


class EmptyMessages(InvalidRequest):
    status = 400


class GroundingUnavailable(EmmausError):
    status, code, name = 503, 1303, "GROUNDING_UNAVAILABLE"


def retriever_of(request: Request) -> Retriever:
    retriever: Retriever | None = getattr(request.app.state, "retriever", None)
    if retriever is None:
        raise GroundingUnavailable("the content library is not configured on this server")
    return retriever


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
    response_model=GroundedCompletion,
    responses=COMPLETION_ERRORS,  # type: ignore[arg-type]
    summary="Chat completion grounded in a publisher's content, with citations",
)
async def grounded_completions(
    body: GroundedCompletionRequest,
    request: Request,
    auth: AuthContext = Depends(require_api_access),
) -> Response:
    if body.messages is not None and not body.messages:
        raise EmptyMessages("messages must not be empty; omit it to use the default message")
    retriever = retriever_of(request)
    service = completion_service(request)
    domain = body.to_domain()
    decision = service.decide(domain)
    sources = await retriever.search(
        auth.client_id, last_user_text(domain.messages), [body.rag_publisher], body.sources_limit
    )
    citations = group_sources(sources)
    grounded = replace(domain, messages=[context_message(citations), *domain.messages])
    if body.stream:
        try:  # a caller who leaves before the first token stops the model too
            served, deltas = await until_disconnect(request, service.stream(grounded, decision))
        except ClientGone:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        writer = GroundedChunkWriter(served, body.tradition, body.include_usage)
        first = writer.grounding(
            _grounding_fields(citations, body.include_citations, answered=False)
        )
        validated = _validated(deltas, len(citations))
        return sse_response(sse_events(writer, validated, served, request, prelude=first))
    answered = await complete_unless_gone(request, service, grounded, decision)
    if answered is None:
        return Response(status_code=CLIENT_CLOSED_REQUEST)
    served, result = answered
    if result.content:
        result = replace(result, content=validate_answer(result.content, citations))
    out = orjson.loads(completion_body(served, body.tradition, result))
    out.update(_grounding_fields(citations, body.include_citations, answered=True))
    return Response(orjson.dumps(out), media_type="application/json")


async def _validated(deltas: AsyncIterator[StreamDelta], count: int) -> AsyncIterator[StreamDelta]:
    """Drop citation markers that name no retrieved source from the streamed text."""
    markers = MarkerFilter(count)
    try:
        async for delta in deltas:
            if delta.content:
                delta = replace(delta, content=markers.feed(delta.content))
            if delta.finish_reason is not None and (rest := markers.flush()):
                delta = replace(delta, content=(delta.content or "") + rest)
            yield delta
    finally:
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()
