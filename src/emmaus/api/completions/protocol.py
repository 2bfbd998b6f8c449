"""Completions v2 wire schemas (spec §4, §6). They mirror the contract and stay in the API layer;
`to_domain` turns a request into the engine's types."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from emmaus.api.common.schemas import SafetyOut
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
from emmaus.services.completions import CompletionRequest

ModelFamily = Literal["openai", "anthropic", "google", "open source"]

# Bounds that keep one request's cost predictable; the body size is bounded separately.
MAX_MESSAGES = 2048
MAX_TOOLS = 128


MAX_SCHEMA_DEPTH = 32


def _shallow(value: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema nested past `MAX_SCHEMA_DEPTH` levels is refused here (422) rather than
    overflowing a recursive grammar builder or serializer later (a 500)."""
    level: list[Any] = [value]
    for _ in range(MAX_SCHEMA_DEPTH):
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if not level:
            return value
    raise ValueError(f"the schema is nested deeper than {MAX_SCHEMA_DEPTH} levels")


class _Wire(BaseModel):
    # OpenAI clients send fields we do not use (user, metadata, store…): accept and ignore them.
    model_config = ConfigDict(extra="ignore")


class TextPart(_Wire):
    type: Literal["text"]
    text: str


class ImagePart(_Wire):
    type: Literal["image_url"]
    image_url: dict[str, Any]


class AudioPart(_Wire):
    type: Literal["input_audio"]
    input_audio: dict[str, Any]


class FilePart(_Wire):
    type: Literal["file"]
    file: dict[str, Any]


# Parsed so that a request with an image is refused in words ("model X does not support
# images") by routing, instead of as a schema path; no catalog capability admits them yet.
ContentPart = Annotated[TextPart | ImagePart | AudioPart | FilePart, Field(discriminator="type")]
NON_TEXT_NEEDS = {"image_url": "images", "input_audio": "audio", "file": "files"}


class FunctionCallIn(_Wire):
    name: str = Field(min_length=1, max_length=256)
    arguments: str = Field(default="{}", max_length=1 << 20)


class ToolCallIn(_Wire):
    id: str = Field(min_length=1, max_length=256)
    type: Literal["function"] = "function"
    function: FunctionCallIn


class ChatMessageIn(_Wire):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[ContentPart] | None = None
    name: str | None = Field(default=None, max_length=256)
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_call_id: str | None = Field(default=None, max_length=256)

    @model_validator(mode="after")
    def _shape(self) -> ChatMessageIn:
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        if self.content is None and not (self.role == "assistant" and self.tool_calls):
            raise ValueError(f"a {self.role} message needs content")
        return self

    def to_domain(self) -> Message:
        content = self.content
        if isinstance(content, list):
            content = "".join(part.text for part in content if isinstance(part, TextPart))
        calls = None
        if self.tool_calls:
            calls = [ToolCall(c.id, c.function.name, c.function.arguments) for c in self.tool_calls]
        role = "system" if self.role == "developer" else self.role
        return Message(role, content, self.name, calls, self.tool_call_id)


class FunctionDef(_Wire):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = Field(default=None, max_length=8192)
    parameters: Annotated[dict[str, Any], AfterValidator(_shallow)] = Field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


class ToolDef(_Wire):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Wire):
    name: str = Field(min_length=1, max_length=64)


class NamedToolChoice(_Wire):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(_Wire):
    name: str = Field(default="response", max_length=64)
    schema_: Annotated[dict[str, Any], AfterValidator(_shallow)] = Field(
        default_factory=dict, alias="schema"
    )
    strict: bool | None = None


class ResponseFormatIn(_Wire):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None

    @model_validator(mode="after")
    def _schema_given(self) -> ResponseFormatIn:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("response_format of type json_schema needs json_schema")
        return self


class StreamOptions(_Wire):
    include_usage: bool = False


# What OpenAI's SDK may send that Emmaus accepts and does not use; any other unknown top-level
# field is refused with a 400 that names it (a typo such as `max_token` is never ignored).
OPENAI_IGNORED = frozenset(
    {
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "metadata",
        "modalities",
        "moderation",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "safety_identifier",
        "service_tier",
        "store",
        "top_logprobs",
        "user",
        "verbosity",
        "web_search_options",
    }
)


class ChatCompletionRequest(_Wire):
    model_config = ConfigDict(extra="forbid")

    messages: Annotated[list[ChatMessageIn], Field(min_length=1, max_length=MAX_MESSAGES)]
    auto_routing: bool | None = None
    model: str | None = Field(default=None, max_length=256)
    model_family: ModelFamily | None = None
    routing_preference: Literal["quality", "balanced", "cost"] | None = Field(
        default=None,
        description="Emmaus: how auto and family routing weigh quality against cost "
        "(default balanced)",
    )
    tradition: Tradition | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)
    n: int | None = Field(default=None, ge=1, le=1, description="Only 1 is supported")
    response_format: ResponseFormatIn | None = None
    tools: list[ToolDef] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _drop_ignored(cls, data: Any) -> Any:
        if isinstance(data, dict) and not OPENAI_IGNORED.isdisjoint(data):
            return {k: v for k, v in data.items() if k not in OPENAI_IGNORED}
        return data

    @field_validator("stop")
    @classmethod
    def _stop(cls, value: str | list[str] | None) -> str | list[str] | None:
        if isinstance(value, list) and len(value) > 4:
            raise ValueError("at most 4 stop sequences")
        return value

    @model_validator(mode="after")
    def _tools_consistent(self) -> ChatCompletionRequest:
        names = {t.function.name for t in self.tools or ()}
        if isinstance(self.tool_choice, NamedToolChoice):
            if self.tool_choice.function.name not in names:
                raise ValueError(
                    f"tool_choice names {self.tool_choice.function.name!r}, which is not in tools"
                )
        elif self.tool_choice == "required" and not names:
            raise ValueError("tool_choice 'required' needs tools")
        return self

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)

    def needs(self) -> frozenset[str]:
        wanted = set()
        if self.tools and self.tool_choice != "none":
            wanted.add("tools")
        if self.stream:
            wanted.add("streaming")
        if self.response_format is not None and self.response_format.type != "text":
            wanted.add("json")
        for message in self.messages or ():
            if isinstance(message.content, list):
                wanted.update(
                    NON_TEXT_NEEDS[part.type]
                    for part in message.content
                    if not isinstance(part, TextPart)
                )
        return frozenset(wanted)

    def to_domain(self) -> CompletionRequest:
        choice: ToolChoice | None
        if isinstance(self.tool_choice, NamedToolChoice):
            choice = FunctionChoice(self.tool_choice.function.name)
        else:
            choice = self.tool_choice
        fmt = None
        if self.response_format is not None:
            schema = self.response_format.json_schema
            fmt = ResponseFormat(
                self.response_format.type,
                schema.schema_ if schema else None,
                schema.name if schema else None,
            )
        stop = [self.stop] if isinstance(self.stop, str) else self.stop
        params = GenerationParams(
            max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=stop,
            seed=self.seed,
            response_format=fmt,
            tools=[
                ToolSpec(t.function.name, t.function.description, t.function.parameters)
                for t in self.tools or ()
            ],
            tool_choice=choice,
            parallel_tool_calls=self.parallel_tool_calls,
        )
        routing = RoutingRequest(
            self.auto_routing,
            self.model,
            self.model_family,
            self.needs(),
            preference=self.routing_preference or "balanced",
        )
        return CompletionRequest(
            messages=[m.to_domain() for m in self.messages],
            routing=routing,
            params=params,
            tradition=self.tradition,
        )


# Response schemas: documentation for OpenAPI. Responses are built as plain dicts on the hot path.


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class ChatMessageOut(BaseModel):
    role: Literal["assistant"]
    content: str | None
    tool_calls: list[ToolCallOut] | None = None
    refusal: None = None


class Choice(BaseModel):
    index: int
    message: ChatMessageOut
    finish_reason: Literal["stop", "length", "tool_calls", "content_filter"]
    logprobs: None = None


class UsageOut(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class RoutingFields(BaseModel):
    model: str
    provider: str
    model_family: str
    auto_routing: bool
    routing_mechanism: Literal["auto_routing", "model_family", "direct_model_selection"]
    routing_tier: Literal["tier_1", "tier_2", "tier_3"]
    routing_confidence: float
    routing_reason: str
    tradition: Tradition | None
    safety: SafetyOut


class ChatCompletion(RoutingFields):
    id: str
    object: Literal["chat.completion"]
    created: int
    choices: list[Choice]
    usage: UsageOut
    system_fingerprint: str | None = None
