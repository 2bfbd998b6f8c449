"""Responses API wire schemas (OpenAI's shape, spec §10.1) and their translation to the domain.

Validation here answers 400 (as OpenAI's API does), naming what is wrong: an unknown field, an
item or content type Emmaus does not take, a tool type it does not run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from emmaus.api.completions.protocol import MAX_TOOLS, FunctionDef, ModelFamily, _shallow
from emmaus.engine.router import RoutingRequest
from emmaus.engine.traditions import Tradition
from emmaus.engine.types import (
    FunctionChoice,
    GenerationParams,
    Message,
    ResponseFormat,
    ToolCall,
    ToolChoice,
    ToolSpec,
)
from emmaus.errors import InvalidRequest
from emmaus.services.responses.types import ResponseRequest

MAX_ITEMS = 2048
MAX_METADATA = 16
# Fields the OpenAI SDK may send that change nothing here; anything else unknown is refused.
IGNORED_FIELDS = frozenset(
    {
        "user",
        "safety_identifier",
        "prompt_cache_key",
        "service_tier",
        "include",
        "reasoning",
        "top_logprobs",
        "stream_options",
        "max_tool_calls",
        "prompt_cache_retention",
    }
)
TEXT_PARTS = ("input_text", "output_text", "text")


class InvalidResponseRequest(InvalidRequest):
    status = 400


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentPart(_Wire):
    type: str
    text: str | None = None
    annotations: list[Any] | None = None
    logprobs: list[Any] | None = None


class InputItem(BaseModel):
    """One item of `input` (or of a conversation): a message, a function call the model made,
    or a function call's output. Checked by `items_to_messages`, which names what is wrong."""

    model_config = ConfigDict(extra="allow")
    type: str = "message"
    id: str | None = Field(default=None, max_length=200)
    role: str | None = None
    content: str | list[ContentPart] | None = None
    status: str | None = None
    call_id: str | None = Field(default=None, max_length=256)
    name: str | None = Field(default=None, max_length=256)
    arguments: str | None = Field(default=None, max_length=1 << 20)
    output: str | list[ContentPart] | None = None


class FunctionTool(FunctionDef):
    model_config = ConfigDict(extra="forbid")
    type: str = "function"
    strict: bool | None = None


class NamedTool(_Wire):
    type: Literal["function"]
    name: str = Field(min_length=1, max_length=64)


class TextFormat(_Wire):
    type: Literal["text", "json_object", "json_schema"] = "text"
    name: str | None = Field(default=None, max_length=64)
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    description: str | None = None
    strict: bool | None = None

    @field_validator("schema_")
    @classmethod
    def _depth(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return _shallow(value) if value is not None else None


class TextConfig(_Wire):
    format: TextFormat = Field(default_factory=TextFormat)
    verbosity: str | None = None


class ConversationRef(_Wire):
    id: str = Field(min_length=1, max_length=200)


class ResponseCreate(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    model: str | None = Field(default=None, max_length=256)
    input: str | Annotated[list[InputItem], Field(max_length=MAX_ITEMS)] | None = None
    instructions: str | None = None
    previous_response_id: str | None = Field(default=None, max_length=200)
    conversation: str | ConversationRef | None = None
    store: bool = True
    stream: bool = False
    background: bool | None = None
    tools: list[FunctionTool] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedTool | None = None
    parallel_tool_calls: bool | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    text: TextConfig | None = None
    metadata: dict[str, str] | None = None
    truncation: Literal["auto", "disabled"] | None = None
    # Gloo's and Emmaus' fields (`extra_body` in the OpenAI SDK).
    auto_routing: bool | None = None
    model_family: ModelFamily | None = None
    routing_preference: Literal["quality", "balanced", "cost"] | None = None
    tradition: Tradition | None = None

    @field_validator("tools", mode="before")
    @classmethod
    def _tool_types(cls, value: Any) -> Any:
        for index, tool in enumerate(value if isinstance(value, list) else ()):
            kind = tool.get("type", "function") if isinstance(tool, dict) else None
            if kind != "function":
                raise ValueError(
                    f"tools[{index}]: tool type {kind!r} is not supported (function tools only)"
                )
        return value

    @field_validator("metadata")
    @classmethod
    def _metadata(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return check_metadata(value)

    @property
    def conversation_id(self) -> str | None:
        if isinstance(self.conversation, ConversationRef):
            return self.conversation.id
        return self.conversation


def check_metadata(value: dict[str, str] | None) -> dict[str, str] | None:
    if value is None:
        return None
    if len(value) > MAX_METADATA:
        raise ValueError(f"metadata holds at most {MAX_METADATA} pairs")
    for key, text in value.items():
        if len(key) > 64 or len(text) > 512:
            raise ValueError("metadata keys are at most 64 characters, values at most 512")
    return value


def _text_of(content: str | list[ContentPart] | None, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    for part in content:
        if part.type not in TEXT_PARTS:
            raise InvalidResponseRequest(
                f"{where}: content type {part.type!r} is not supported (text parts only)"
            )
    return "".join(part.text or "" for part in content)


def items_to_messages(items: list[InputItem], where: str = "input") -> list[Message]:
    """Input items as engine messages; consecutive function calls become one assistant turn."""
    messages: list[Message] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if item.type == "message":
            role = item.role
            if role not in ("user", "assistant", "system", "developer"):
                raise InvalidResponseRequest(f"{at}.role: {role!r} is not a message role")
            text = _text_of(item.content, at)
            messages.append(Message("system" if role == "developer" else role, text))  # type: ignore[arg-type]
        elif item.type == "function_call":
            if not item.call_id or not item.name:
                raise InvalidResponseRequest(f"{at}: a function_call needs call_id and name")
            call = ToolCall(item.call_id, item.name, item.arguments or "{}")
            last = messages[-1] if messages else None
            if (
                last is not None
                and last.role == "assistant"
                and last.tool_calls
                and not last.content
            ):
                last.tool_calls.append(call)
            else:
                messages.append(Message("assistant", None, tool_calls=[call]))
        elif item.type == "function_call_output":
            if not item.call_id:
                raise InvalidResponseRequest(f"{at}: a function_call_output needs call_id")
            output = _text_of(item.output, at)
            messages.append(Message("tool", output, tool_call_id=item.call_id))
        else:
            raise InvalidResponseRequest(
                f"{at}.type: item type {item.type!r} is not supported (message, function_call, "
                "function_call_output)"
            )
    return messages


def to_domain(
    body: ResponseCreate, reply_id_of: Any, *, needs_input: bool = True
) -> ResponseRequest:
    """The request on domain types; `reply_id_of` turns a response id into its reply's id.
    `needs_input` false: a regeneration, which answers a stored question again."""
    unknown = sorted(set(body.model_extra or ()) - IGNORED_FIELDS)
    if unknown:
        raise InvalidResponseRequest(f"unknown field(s): {', '.join(unknown)}")
    if body.background:
        raise InvalidResponseRequest("background responses are not supported; use stream")
    if body.previous_response_id and body.conversation is not None:
        raise InvalidResponseRequest(
            "previous_response_id and conversation cannot be used together"
        )
    if isinstance(body.input, str):
        inputs = [Message("user", body.input)]
    else:
        inputs = items_to_messages(body.input or [])
    if not inputs and needs_input:
        raise InvalidResponseRequest("input is empty: give a string or at least one item")
    previous = reply_id_of(body.previous_response_id) if body.previous_response_id else None
    return ResponseRequest(
        inputs=inputs,
        routing=routing_of(body),
        params=params_of(body),
        instructions=body.instructions,
        tradition=body.tradition,
        previous_reply_id=previous,
        conversation_id=body.conversation_id,
        store=body.store,
        truncation=body.truncation or "disabled",
        echo=echo_of(body),
    )


def routing_of(body: ResponseCreate) -> RoutingRequest:
    names = {t.name for t in body.tools or ()}
    if isinstance(body.tool_choice, NamedTool) and body.tool_choice.name not in names:
        raise InvalidResponseRequest(
            f"tool_choice names {body.tool_choice.name!r}, which is not in tools"
        )
    if body.tool_choice == "required" and not names:
        raise InvalidResponseRequest("tool_choice 'required' needs tools")
    needs = set()
    if names and body.tool_choice != "none":
        needs.add("tools")
    if body.stream:
        needs.add("streaming")
    if body.text is not None and body.text.format.type != "text":
        needs.add("json")
    model = body.model if body.model and body.model.strip() not in ("", "auto") else None
    auto = body.auto_routing
    if auto is None and model is None and body.model_family is None:
        auto = True  # no model named: auto-routing, as Completions v2 without a model
    return RoutingRequest(
        auto,
        model,
        body.model_family,
        frozenset(needs),
        preference=body.routing_preference or "balanced",
    )


def params_of(body: ResponseCreate) -> GenerationParams:
    choice: ToolChoice | None
    choice = (
        FunctionChoice(body.tool_choice.name)
        if isinstance(body.tool_choice, NamedTool)
        else body.tool_choice
    )
    fmt = None
    if body.text is not None and body.text.format.type != "text":
        spec = body.text.format
        fmt = ResponseFormat(spec.type, spec.schema_, spec.name)
        if spec.type == "json_schema" and spec.schema_ is None:
            raise InvalidResponseRequest("text.format of type json_schema needs schema")
    return GenerationParams(
        max_tokens=body.max_output_tokens,
        temperature=body.temperature,
        top_p=body.top_p,
        response_format=fmt,
        tools=[ToolSpec(t.name, t.description, t.parameters) for t in body.tools or ()],
        tool_choice=choice,
        parallel_tool_calls=body.parallel_tool_calls,
    )


def echo_of(body: ResponseCreate) -> dict[str, Any]:
    """What the response object repeats of its request (stored with the reply)."""
    text = body.text.model_dump(by_alias=True, exclude_none=True) if body.text else None
    return {
        "instructions": body.instructions,
        "metadata": body.metadata or {},
        "tools": [t.model_dump(exclude_none=True) for t in body.tools or ()],
        "tool_choice": (
            body.tool_choice.model_dump()
            if isinstance(body.tool_choice, NamedTool)
            else (body.tool_choice or "auto")
        ),
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "max_output_tokens": body.max_output_tokens,
        "text": text or {"format": {"type": "text"}},
        "truncation": body.truncation or "disabled",
        "previous_response_id": body.previous_response_id,
        "conversation": body.conversation_id,
        "store": body.store,
    }
