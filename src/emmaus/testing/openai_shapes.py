"""OpenAI chat-completion wire shapes for the scripted upstream: what it answers (text or tool
calls), and the exact JSON objects and SSE chunks OpenAI sends for it."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

_WORDS = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor grace peace"
_VOCABULARY = tuple(_WORDS.split(" "))
_ids = itertools.count(1)


@dataclass(slots=True)
class Answer:
    """What one request is answered with, before it is shaped as JSON or as a stream."""

    pieces: list[str]  # content, one element per streamed token
    tool_calls: list[tuple[str, str, str]]  # (id, name, JSON arguments)
    finish_reason: str | None
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        if self.tool_calls:
            return sum(max(1, len(args) // 4) for _, _, args in self.tool_calls)
        return len(self.pieces)


def next_id(prefix: str) -> str:
    return f"{prefix}{next(_ids):012d}"


@lru_cache(maxsize=256)
def fixed_tokens(count: int, size: int) -> tuple[str, ...]:
    """`count` tokens of exactly `size` characters each (a word cut or repeated, then a space)."""
    tokens = []
    for index in range(count):
        word = _VOCABULARY[index % len(_VOCABULARY)]
        if size <= 1:
            tokens.append(word[0])
        else:
            body = (word * (size // len(word) + 1))[: size - 1]
            tokens.append(body + " ")
    return tuple(tokens)


def split_text(text: str, size: int) -> list[str]:
    size = max(1, size)
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def message_text(content: Any) -> str:
    """The text of an OpenAI message `content`: a string or a list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def prompt_tokens(messages: list[Any]) -> int:
    total = 0
    for message in messages:
        if isinstance(message, dict):
            total += 4 + len(message_text(message.get("content"))) // 4
    return total


def _placeholder(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return "x"
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    return {
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }.get(kind, "x")


def tool_arguments(parameters: Any) -> str:
    """Arguments satisfying the schema's required keys (`{}` when none are required)."""
    if not isinstance(parameters, dict):
        return "{}"
    props = parameters.get("properties") or {}
    args = {key: _placeholder(props.get(key)) for key in parameters.get("required") or []}
    return orjson.dumps(args).decode()


def wants_tool_call(request: dict[str, Any], forced: bool) -> bool:
    tools = request.get("tools")
    if not tools:
        return False
    choice = request.get("tool_choice")
    if choice == "required" or isinstance(choice, dict):
        return True
    return forced and choice != "none"


def plan_tool_calls(request: dict[str, Any], count: int) -> list[tuple[str, str, str]]:
    functions = [t.get("function") or {} for t in request["tools"] if isinstance(t, dict)]
    choice = request.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        functions = [f for f in functions if f.get("name") == name] or [{"name": name}]
    calls = []
    for index in range(max(1, count)):
        function = functions[index % len(functions)]
        args = tool_arguments(function.get("parameters"))
        calls.append((next_id("call_"), str(function.get("name")), args))
    return calls


def completion_body(model: str, answer: Answer) -> bytes:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": None if answer.tool_calls else "".join(answer.pieces),
        "refusal": None,
    }
    if answer.tool_calls:
        message["tool_calls"] = [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
            for cid, name, args in answer.tool_calls
        ]
    completion_tokens = answer.completion_tokens
    return orjson.dumps(
        {
            "id": next_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": answer.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": answer.prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": answer.prompt_tokens + completion_tokens,
            },
            "service_tier": "default",
            "system_fingerprint": "fp_scripted",
        }
    )


class ChunkWriter:
    """Builds the `data: …` events of one streamed completion, in OpenAI's order and shape."""

    __slots__ = ("_base", "_usage")

    def __init__(self, model: str, include_usage: bool) -> None:
        self._usage = include_usage
        self._base: dict[str, Any] = {
            "id": next_id("chatcmpl-"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_scripted",
        }

    def _event(self, choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
        chunk = dict(self._base)
        chunk["choices"] = choices
        if self._usage:
            chunk["usage"] = usage
        return b"data: " + orjson.dumps(chunk) + b"\n\n"

    def delta(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return self._event([choice])

    def events(self, answer: Answer, piece_size: int) -> list[bytes]:
        """Every event of the stream except the end (finish chunk, usage, [DONE])."""
        if answer.tool_calls:
            events = [self.delta({"role": "assistant", "content": None, "refusal": None})]
            for index, (cid, name, args) in enumerate(answer.tool_calls):
                head = {"index": index, "id": cid, "type": "function"}
                head["function"] = {"name": name, "arguments": ""}
                events.append(self.delta({"tool_calls": [head]}))
                for fragment in split_text(args, piece_size):
                    part = {"index": index, "function": {"arguments": fragment}}
                    events.append(self.delta({"tool_calls": [part]}))
            return events
        events = [self.delta({"role": "assistant", "content": "", "refusal": None})]
        events.extend(self.delta({"content": piece}) for piece in answer.pieces if piece)
        return events

    def finish(self, answer: Answer) -> bytes:
        return self.delta({}, answer.finish_reason)

    def usage(self, answer: Answer) -> bytes:
        completion_tokens = answer.completion_tokens
        usage = {
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": answer.prompt_tokens + completion_tokens,
        }
        return self._event([], usage)


DONE = b"data: [DONE]\n\n"


def error_body(status: int, message: str) -> bytes:
    kind = {
        429: "rate_limit_exceeded",
        401: "authentication_error",
        404: "not_found_error",
    }.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": None}})
