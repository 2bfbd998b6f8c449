"""What ResponseService takes and gives, on domain types. The Responses wire shapes live in
`emmaus.api.responses`; here a response is the reply row that answers it (`StoredMessage`) in
its chat, and a stream is a sequence of `ResponseEvent`s."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from emmaus.conversations.types import Chat, StoredMessage
from emmaus.engine.router import RoutingRequest
from emmaus.engine.types import GenerationParams, Message, ToolCallDelta, Usage

Truncation = Literal["auto", "disabled"]

# Reply status of a stopped response (its text so far is kept, as v1 keeps a partial reply).
CANCELLED = "cancelled"


@dataclass(slots=True)
class ResponseRequest:
    """One `POST /ai/v1/responses` (or an edit/regenerate of a conversation item).

    Where the new rows go: under the reply of `previous_reply_id` (a fork when it is not the
    newest), or at the head of `conversation_id`, or under `parent_item_id` of that conversation
    (an edit or a regeneration); otherwise a new chain. With `store` false nothing is written.
    """

    inputs: list[Message]
    routing: RoutingRequest
    params: GenerationParams
    instructions: str | None = None
    tradition: str | None = None
    previous_reply_id: str | None = None
    conversation_id: str | None = None
    parent_item_id: str | None = None  # with conversation_id: fork under this item
    fork: bool = False  # parent_item_id given (it may be None: a fork at the root)
    regenerate_query: str | None = None  # the query id a regenerated reply shares
    question: str | None = None  # what routing reads when there is no new input (a regeneration)
    store: bool = True
    truncation: Truncation = "disabled"
    echo: dict[str, Any] = field(default_factory=dict)  # settings the response object repeats


@dataclass(slots=True)
class ResponseRecord:
    """A response as stored (or, with `store` false, as it would have been)."""

    chat: Chat | None
    reply: StoredMessage
    usage: Usage = field(default_factory=Usage)
    stored: bool = True

    @property
    def settings(self) -> dict[str, Any]:
        meta = self.reply.meta or {}
        return dict(meta.get("response") or {})


@dataclass(slots=True)
class TextPiece:
    text: str


@dataclass(slots=True)
class ToolPiece:
    delta: ToolCallDelta


@dataclass(slots=True)
class Finished:
    """The last event of a stream: the settled response (also when it failed or stopped)."""

    record: ResponseRecord


ResponseEvent = TextPiece | ToolPiece | Finished
