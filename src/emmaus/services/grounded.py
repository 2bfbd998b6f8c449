"""GroundedService: a v2 completion grounded in a publisher's content. Retrieves from the
caller's publisher, puts the numbered sources before the conversation, and checks every citation
marker the model writes against what was retrieved (whole answers and streams alike)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import Completion, StreamDelta
from emmaus.errors import GroundingUnavailable
from emmaus.grounding.citations import (
    Citation,
    MarkerFilter,
    grounded_messages,
    group_sources,
    last_user_text,
    validate_answer,
)
from emmaus.grounding.retrieval import Retriever
from emmaus.services.completions import CompletionRequest, CompletionService
from emmaus.services.safeguard import SafetyOutcome


@dataclass(slots=True)
class GroundedCall:
    """A grounded request ready for the model: what to send, how it was routed, what it cites."""

    request: CompletionRequest
    decision: RoutingDecision
    citations: list[Citation]
    safety: SafetyOutcome

    def checked(self, completion: Completion) -> Completion:
        """The answer with markers that name no retrieved source removed."""
        if not completion.content:
            return completion
        return replace(completion, content=validate_answer(completion.content, self.citations))

    async def checked_stream(
        self, deltas: AsyncIterator[StreamDelta]
    ) -> AsyncIterator[StreamDelta]:
        """The same check on a stream: markers are held until they can be judged."""
        markers = MarkerFilter(len(self.citations))
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


class GroundedService:
    def __init__(self, completions: CompletionService, retriever: Retriever | None) -> None:
        self.completions = completions
        self.retriever = retriever

    async def prepare(
        self,
        client_id: str,
        request: CompletionRequest,
        publishers: Sequence[str],
        limit: int,
    ) -> GroundedCall:
        """Route first (a routing error costs no retrieval), then retrieve and ground."""
        if self.retriever is None:
            raise GroundingUnavailable("the content library is not configured on this server")
        request = replace(request, client_id=client_id)
        decision = self.completions.decide(request)
        query = last_user_text(request.messages)
        sources = await self.retriever.search(client_id, query, list(publishers), limit)
        citations = group_sources(sources)
        # Judged on what the person wrote: document text is neither a crisis nor a request.
        safety = self.completions.judge(request)
        grounded = replace(request, messages=grounded_messages(request.messages, citations))
        return GroundedCall(grounded, decision, citations, safety)
