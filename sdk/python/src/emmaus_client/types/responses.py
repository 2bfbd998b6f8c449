"""The Responses and Conversations APIs (OpenAI's shapes at `/ai/v1/responses` and
`/ai/v1/conversations`, spec §10.1) as typed results; output items stay dicts, as OpenAI's
item types are many and open-ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emmaus_client.types.completions import Routing, Safety


def _text_of(items: list[dict[str, Any]]) -> str:
    parts = []
    for item in items:
        if item.get("type") != "message":
            continue
        for part in item.get("content") or ():
            if part.get("type") in ("output_text", "input_text", "text"):
                parts.append(str(part.get("text", "")))
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class ResponseUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> ResponseUsage:
        if not isinstance(data, dict):
            return cls()
        given = int(data.get("input_tokens") or 0), int(data.get("output_tokens") or 0)
        return cls(*given, int(data.get("total_tokens") or sum(given)))


@dataclass(frozen=True, slots=True)
class Response:
    """`POST /ai/v1/responses`. `output_text` joins the text of the output's message items."""

    id: str
    status: str
    model: str
    output: list[dict[str, Any]]
    output_text: str
    usage: ResponseUsage
    previous_response_id: str | None
    conversation_id: str | None
    error: dict[str, Any] | None
    routing: Routing
    safety: Safety | None
    raw: dict[str, Any] = field(repr=False)

    @property
    def function_calls(self) -> list[dict[str, Any]]:
        return [item for item in self.output if item.get("type") == "function_call"]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Response:
        output = list(data.get("output") or [])
        conversation = data.get("conversation")
        return cls(
            id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            model=str(data.get("model", "")),
            output=output,
            output_text=_text_of(output),
            usage=ResponseUsage.from_dict(data.get("usage")),
            previous_response_id=data.get("previous_response_id"),
            conversation_id=conversation.get("id") if isinstance(conversation, dict) else None,
            error=data.get("error") if isinstance(data.get("error"), dict) else None,
            routing=Routing.from_dict(data),
            safety=Safety.from_dict(data.get("safety")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class ResponseTextDelta:
    """A piece of a streamed response's text (`response.output_text.delta`)."""

    delta: str
    item_id: str | None
    output_index: int | None


@dataclass(frozen=True, slots=True)
class ConversationObject:
    """A conversation of `/ai/v1/conversations` (on Emmaus, the same id as its v1 chat)."""

    id: str
    created_at: int
    metadata: dict[str, str]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationObject:
        return cls(
            str(data.get("id", "")),
            int(data.get("created_at") or 0),
            dict(data.get("metadata") or {}),
        )


@dataclass(frozen=True, slots=True)
class ConversationItem:
    id: str
    type: str
    role: str | None
    status: str | None
    text: str  # the text of a message item ("" for other types)
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConversationItem:
        return cls(
            str(data.get("id", "")),
            str(data.get("type", "")),
            data.get("role"),
            data.get("status"),
            _text_of([data]),
            data,
        )


@dataclass(frozen=True, slots=True)
class ItemPage:
    data: list[ConversationItem]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemPage:
        return cls(
            [ConversationItem.from_dict(i) for i in data.get("data") or ()],
            data.get("first_id"),
            data.get("last_id"),
            bool(data.get("has_more", False)),
        )
