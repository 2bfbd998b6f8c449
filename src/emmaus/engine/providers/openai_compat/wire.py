"""Domain types <-> the OpenAI chat-completions wire format, as plain dicts (no pydantic: this
runs on every upstream call and every streamed chunk)."""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from emmaus.engine.providers.token_estimate import PER_MESSAGE_TOKENS, estimate_tokens
from emmaus.engine.types import (
    Completion,
    FinishReason,
    FunctionChoice,
    GenerationParams,
    Message,
    ResponseFormat,
    ToolCall,
    ToolCallDelta,
    Usage,
)

if TYPE_CHECKING:
    from emmaus.catalog import ModelSpec

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
    "eos": "stop",  # some servers (older llama.cpp/TGI) name the end of sequence
    "end_turn": "stop",
    "max_tokens": "length",
}


class UnreadableResponse(ValueError):
    """The upstream's body does not have the OpenAI shape."""


# --- request ---------------------------------------------------------------------------------


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name:
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    return out


def _response_format(fmt: ResponseFormat) -> dict[str, Any]:
    if fmt.type != "json_schema":
        return {"type": fmt.type}
    schema = fmt.json_schema or {}
    if isinstance(schema.get("schema"), dict):  # already OpenAI's {name, schema, strict} object
        wrapped = dict(schema)
        wrapped.setdefault("name", fmt.name or "response")
    else:
        wrapped = {"name": fmt.name or "response", "schema": schema}
    return {"type": "json_schema", "json_schema": wrapped}


def build_request(
    spec: ModelSpec, messages: Sequence[Message], params: GenerationParams, *, stream: bool
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": spec.upstream_model or spec.id,
        "messages": [_message(m) for m in messages],
    }
    if params.max_tokens is not None:
        body["max_tokens"] = params.max_tokens
    if params.temperature is not None:
        body["temperature"] = params.temperature
    if params.top_p is not None:
        body["top_p"] = params.top_p
    if params.stop:
        body["stop"] = params.stop
    if params.seed is not None:
        body["seed"] = params.seed
    if params.response_format is not None:
        body["response_format"] = _response_format(params.response_format)
    if params.tools:
        tools = []
        for tool in params.tools:
            function: dict[str, Any] = {"name": tool.name, "parameters": tool.parameters}
            if tool.description:
                function["description"] = tool.description
            tools.append({"type": "function", "function": function})
        body["tools"] = tools
        # OpenAI rejects parallel_tool_calls without tools.
        if params.parallel_tool_calls is not None:
            body["parallel_tool_calls"] = params.parallel_tool_calls
    choice = params.tool_choice
    if isinstance(choice, FunctionChoice):
        body["tool_choice"] = {"type": "function", "function": {"name": choice.name}}
    elif choice is not None:
        body["tool_choice"] = choice
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


# --- response --------------------------------------------------------------------------------


def finish_reason(raw: Any, has_tool_calls: bool) -> FinishReason:
    reason = _FINISH.get(raw, "stop") if isinstance(raw, str) else "stop"
    # Some servers (Ollama, llama.cpp) say "stop" after a tool call.
    if has_tool_calls and reason == "stop":
        return "tool_calls"
    return reason


def _arguments(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    return orjson.dumps(raw if raw is not None else {}).decode()


def parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    return Usage(int(raw.get("prompt_tokens") or 0), int(raw.get("completion_tokens") or 0))


def estimate_prompt_tokens(messages: Sequence[Message]) -> int:
    total = 0
    for message in messages:
        total += PER_MESSAGE_TOKENS + estimate_tokens(message.content)
        for call in message.tool_calls or ():
            total += estimate_tokens(call.name) + estimate_tokens(call.arguments)
    return total


def parse_completion(body: bytes, messages: Sequence[Message]) -> Completion:
    try:
        data = orjson.loads(body)
        choice = data["choices"][0]
        message = choice.get("message") or {}
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise UnreadableResponse(f"not an OpenAI chat completion: {body[:200]!r}") from exc
    calls = []
    for index, raw in enumerate(message.get("tool_calls") or ()):
        function = raw.get("function") or {}
        calls.append(
            ToolCall(
                id=raw.get("id") or f"call_{uuid.uuid4().hex[:24]}_{index}",
                name=function.get("name") or "",
                arguments=_arguments(function.get("arguments")),
            )
        )
    content = message.get("content")
    if isinstance(content, list):  # typed parts, as some vendors answer
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    usage = parse_usage(data.get("usage"))
    if usage is None:
        spent = estimate_tokens(content) + sum(estimate_tokens(c.arguments) for c in calls)
        usage = Usage(estimate_prompt_tokens(messages), spent)
    return Completion(
        content=content,
        tool_calls=calls,
        finish_reason=finish_reason(choice.get("finish_reason"), bool(calls)),
        usage=usage,
    )


def tool_call_deltas(raw: list[Any]) -> list[ToolCallDelta]:
    deltas = []
    for position, item in enumerate(raw):
        function = item.get("function") or {}
        arguments = function.get("arguments")
        deltas.append(
            ToolCallDelta(
                index=item.get("index", position),
                id=item.get("id"),
                name=function.get("name"),
                arguments=_arguments(arguments) if arguments is not None else "",
            )
        )
    return deltas


# --- errors ----------------------------------------------------------------------------------


def error_message(body: bytes, status: int) -> str:
    """The upstream's own error message when it sent one (OpenAI, vLLM, Ollama shapes)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        text = body.decode("utf-8", "replace").strip()
        return (
            f"upstream answered {status}: {text[:300]}" if text else f"upstream answered {status}"
        )
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return f"upstream answered {status}: {error['message']}"
    if isinstance(error, str):
        return f"upstream answered {status}: {error}"
    if isinstance(data, dict) and isinstance(data.get("detail") or data.get("message"), str):
        return f"upstream answered {status}: {data.get('detail') or data.get('message')}"
    return f"upstream answered {status}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` in seconds: delay-seconds (fractions tolerated) or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
