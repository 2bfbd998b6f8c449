"""Domain types the engine speaks. Wire schemas live in `emmaus.api`; these never change with
the wire format. Plain slotted dataclasses: they sit on the hot path."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "error"]


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON-encoded, as OpenAI sends it


@dataclass(slots=True)
class Message:
    role: Role
    content: str | None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


@dataclass(slots=True)
class ToolSpec:
    name: str
    description: str | None
    parameters: dict[str, Any]


@dataclass(slots=True)
class FunctionChoice:
    """`tool_choice` naming one function: the model must call exactly it."""

    name: str


ToolChoice = Literal["none", "auto", "required"] | FunctionChoice


@dataclass(slots=True)
class ResponseFormat:
    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None
    name: str | None = None


@dataclass(slots=True)
class GenerationParams:
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: list[str] | None = None
    seed: int | None = None
    response_format: ResponseFormat | None = None
    tools: list[ToolSpec] = field(default_factory=list)
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class Completion:
    content: str | None
    tool_calls: list[ToolCall]
    finish_reason: FinishReason
    usage: Usage


@dataclass(slots=True)
class ToolCallDelta:
    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""  # a fragment of the JSON-encoded arguments


@dataclass(slots=True)
class StreamDelta:
    """One step of a streamed completion. The last delta a provider yields carries
    `finish_reason`; `usage` arrives with it (or on a delta of its own just before)."""

    content: str | None = None
    tool_calls: list[ToolCallDelta] | None = None
    finish_reason: FinishReason | None = None
    usage: Usage | None = None
