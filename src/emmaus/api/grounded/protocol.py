"""Wire schemas of grounded completions (spec §5), extending
the v2 schemas in `emmaus.api.completions.protocol`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from emmaus.api.completions.protocol import (
    MAX_MESSAGES,
    ChatCompletion,
    ChatCompletionRequest,
    ChatMessageIn,
)
from emmaus.services.completions import CompletionRequest

DEFAULT_PUBLISHER = "GlooGrounded"
DEFAULT_MESSAGE = "Hello world!"


class GroundedCompletionRequest(ChatCompletionRequest):
    # Optional here (spec §5): omitted means one user message "Hello world!"; `[]` is a 400,
    # checked by the route because pydantic's own length errors are 422s.
    messages: list[ChatMessageIn] | None = Field(default=None, max_length=MAX_MESSAGES)  # type: ignore[assignment]
    rag_publisher: str = Field(default=DEFAULT_PUBLISHER, min_length=1, max_length=200)
    sources_limit: int = Field(default=3, ge=1, le=10)
    include_citations: bool = False

    def to_domain(self) -> CompletionRequest:
        if self.messages is None:
            # The parent builds everything else; give it the default message to convert.
            patched = self.model_copy(
                update={"messages": [ChatMessageIn(role="user", content=DEFAULT_MESSAGE)]}
            )
            return ChatCompletionRequest.to_domain(patched)
        return ChatCompletionRequest.to_domain(self)


class CitationOut(BaseModel):
    index: int = Field(description="The number the answer cites, as [index]")
    item_id: str
    item_title: str
    item_url: str | None
    publisher: str
    snippets: list[str]
    chunk_ids: list[int]
    score: float = Field(description="Cosine similarity of the best chunk to the question")
    cited: bool | None = Field(
        default=None, description="Whether the answer cites it (non-streaming answers only)"
    )


class GroundedCompletion(ChatCompletion):
    sources_returned: bool
    citations: list[CitationOut] | None = None
