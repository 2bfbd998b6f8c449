"""Completions v2 and grounded completions as typed results. Each type reads what the wire
holds and tolerates what it lacks (Gloo's platform sends fewer fields than Emmaus: routing
reason, safety and citation details may be absent, and then are None). `raw` keeps the body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _int(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> Usage:
        if not isinstance(data, dict):
            return cls()
        prompt, completion = _int(data.get("prompt_tokens")), _int(data.get("completion_tokens"))
        return cls(prompt, completion, _int(data.get("total_tokens")) or prompt + completion)


@dataclass(frozen=True, slots=True)
class HelpResource:
    """A help line the safety layer's support answer lists ("988 Suicide & Crisis Lifeline")."""

    name: str
    contact: str
    description: str = ""
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Safety:
    """What Emmaus' safety layer did: `support` (crisis resources), `refuse` or `none`."""

    action: str
    categories: list[str]
    severity: str
    resources: list[HelpResource] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any) -> Safety | None:
        if not isinstance(data, dict):
            return None
        resources = [
            HelpResource(
                str(r.get("name", "")),
                str(r.get("contact", "")),
                str(r.get("description") or ""),
                r.get("url") if isinstance(r.get("url"), str) else None,
            )
            for r in data.get("resources") or []
            if isinstance(r, dict)
        ]
        return cls(
            str(data.get("action", "none")),
            list(data.get("categories") or []),
            str(data.get("severity", "none")),
            resources,
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model wrote it

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToolCall:
        function = data.get("function") or {}
        return cls(
            str(data.get("id", "")), str(function.get("name", "")), function.get("arguments") or ""
        )


@dataclass(frozen=True, slots=True)
class Routing:
    """How the request was served (spec §4.3). Every field may be None on a server that does
    not send it."""

    model: str | None = None
    provider: str | None = None
    model_family: str | None = None
    auto_routing: bool | None = None
    routing_mechanism: str | None = None
    routing_tier: str | None = None
    routing_confidence: float | None = None
    routing_reason: str | None = None
    tradition: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Routing:
        confidence = data.get("routing_confidence")
        return cls(
            model=data.get("model"),
            provider=data.get("provider"),
            model_family=data.get("model_family"),
            auto_routing=data.get("auto_routing"),
            routing_mechanism=data.get("routing_mechanism"),
            routing_tier=data.get("routing_tier"),
            routing_confidence=float(confidence) if confidence is not None else None,
            routing_reason=data.get("routing_reason"),
            tradition=data.get("tradition"),
        )


@dataclass(frozen=True, slots=True)
class ChatCompletion:
    """`POST /ai/v2/chat/completions`: the first choice's text is `content`."""

    id: str
    created: int
    model: str
    content: str | None
    finish_reason: str | None
    tool_calls: list[ToolCall]
    usage: Usage
    routing: Routing
    safety: Safety | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChatCompletion:
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        return cls(
            id=str(data.get("id", "")),
            created=_int(data.get("created")),
            model=str(data.get("model", "")),
            content=message.get("content"),
            finish_reason=choice.get("finish_reason"),
            tool_calls=[ToolCall.from_dict(c) for c in message.get("tool_calls") or ()],
            usage=Usage.from_dict(data.get("usage")),
            routing=Routing.from_dict(data),
            safety=Safety.from_dict(data.get("safety")),
            raw=data,
        )


@dataclass(frozen=True, slots=True)
class Citation:
    """A source a grounded answer used (`include_citations=True`)."""

    item_title: str | None
    item_url: str | None
    snippets: list[str]
    index: int | None = None
    item_id: str | None = None
    publisher: str | None = None
    score: float | None = None
    cited: bool | None = None  # whether the answer cites it (non-streamed answers, Emmaus)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Citation:
        return cls(
            item_title=data.get("item_title"),
            item_url=data.get("item_url"),
            snippets=list(data.get("snippets") or []),
            index=data.get("index"),
            item_id=data.get("item_id"),
            publisher=data.get("publisher"),
            score=data.get("score"),
            cited=data.get("cited"),
        )


@dataclass(frozen=True, slots=True)
class GroundedCompletion:
    """`POST /ai/v2/chat/completions/grounded`: a completion plus what grounded it."""

    completion: ChatCompletion
    sources_returned: bool
    citations: list[Citation]

    @property
    def content(self) -> str | None:
        return self.completion.content

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GroundedCompletion:
        return cls(
            ChatCompletion.from_dict(data),
            bool(data.get("sources_returned", False)),
            [Citation.from_dict(c) for c in data.get("citations") or ()],
        )


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    index: int
    id: str | None
    name: str | None
    arguments: str


@dataclass(frozen=True, slots=True)
class CompletionDelta:
    """One streamed chunk: a piece of text and/or tool-call fragments, and the finish reason
    on the last one."""

    content: str | None
    tool_calls: list[ToolCallDelta]
    finish_reason: str | None
    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_chunk(cls, data: dict[str, Any]) -> CompletionDelta | None:
        """None for a chunk without choices (a usage chunk, a grounded citations event)."""
        choices = data.get("choices") or []
        if not choices:
            return None
        choice = choices[0]
        delta = choice.get("delta") or {}
        calls = [
            ToolCallDelta(
                int(c.get("index", 0)),
                c.get("id"),
                (c.get("function") or {}).get("name"),
                (c.get("function") or {}).get("arguments") or "",
            )
            for c in delta.get("tool_calls") or ()
        ]
        return cls(delta.get("content"), calls, choice.get("finish_reason"), data)
