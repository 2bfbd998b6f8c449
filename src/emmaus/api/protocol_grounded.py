"""Wire schemas of grounded completions (spec §5) and the content library endpoints, extending
the v2 schemas in `emmaus.api.protocol`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from emmaus.api.protocol import MAX_MESSAGES, ChatCompletion, ChatCompletionRequest, ChatMessageIn
from emmaus.engine.types import Message
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

    def domain_messages(self) -> list[Message]:
        if self.messages is None:
            return [Message(role="user", content=DEFAULT_MESSAGE)]
        return [m.to_domain() for m in self.messages]

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


class DocumentOut(BaseModel):
    document_id: int
    publisher: str
    source: str
    title: str
    url: str | None
    kind: str
    content_hash: str
    size_bytes: int
    chunk_count: int
    created_at: str
    updated_at: str


class IngestOut(BaseModel):
    status: str = Field(description="added, updated or unchanged")
    document: DocumentOut


class DocumentList(BaseModel):
    data: list[DocumentOut]


class PublisherOut(BaseModel):
    name: str
    shared: bool


class PublisherList(BaseModel):
    data: list[PublisherOut]
