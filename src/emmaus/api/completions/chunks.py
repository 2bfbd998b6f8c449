"""Completions v2 response bodies: the whole `chat.completion` object and the SSE chunks of a
stream. Built as bytes from dicts with orjson: this is the hot path of every request."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from emmaus.engine.types import Completion, StreamDelta, ToolCall, ToolCallDelta, Usage
from emmaus.errors import EmmausError
from emmaus.services.completions import Served

DONE = b"data: [DONE]\n\n"


def completion_id() -> str:
    return "chatcmpl-" + secrets.token_hex(12)


def routing_fields(served: Served, tradition: str | None) -> dict[str, Any]:
    decision = served.decision
    return {
        "model": served.model.id,
        "provider": served.model.vendor,
        "model_family": served.model.family_display,
        "auto_routing": decision.mechanism == "auto_routing",
        "routing_mechanism": decision.mechanism,
        "routing_tier": decision.tier_name,
        "routing_confidence": decision.confidence,
        "routing_reason": served.reason,
        "tradition": tradition,
        "safety": served.safety.to_dict(),
    }


def usage_dict(usage: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def _tool_call(call: ToolCall) -> dict[str, Any]:
    return {
        "id": call.id,
        "type": "function",
        "function": {"name": call.name, "arguments": call.arguments},
    }


def completion_body(served: Served, tradition: str | None, result: Completion) -> bytes:
    message: dict[str, Any] = {"role": "assistant", "content": result.content, "refusal": None}
    if result.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in result.tool_calls]
    body = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        **routing_fields(served, tradition),
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": result.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage_dict(result.usage),
        "system_fingerprint": None,
    }
    return orjson.dumps(body)


def _tool_call_delta(delta: ToolCallDelta) -> dict[str, Any]:
    item: dict[str, Any] = {"index": delta.index}
    function: dict[str, str] = {"arguments": delta.arguments}
    if delta.id is not None:
        item["id"] = delta.id
        item["type"] = "function"
    if delta.name is not None:
        function["name"] = delta.name
    item["function"] = function
    return item


class ChunkWriter:
    """Every chunk has OpenAI's `id`, `object`, `created`, `model`; the first and the final chunk
    also carry the routing metadata, so a client that reads either knows how it was served."""

    def __init__(self, served: Served, tradition: str | None, include_usage: bool) -> None:
        self.include_usage = include_usage
        self._head = {
            "id": completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": served.model.id,
        }
        self._served, self._tradition = served, tradition
        # Content chunks are the bulk of a stream: splice the text between fixed bytes.
        head = orjson.dumps(self._head)[:-1]
        self._content_prefix = b"data: " + head + b',"choices":[{"index":0,"delta":{"content":'
        self._content_suffix = b'},"finish_reason":null,"logprobs":null}]}\n\n'

    def _event(self, body: dict[str, Any]) -> bytes:
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def _choice(self, delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}

    def first(self) -> bytes:
        choice = self._choice({"role": "assistant", "content": ""}, None)
        routing = routing_fields(self._served, self._tradition)
        return self._event({**self._head, **routing, "choices": [choice]})

    def content(self, text: str) -> bytes:
        return self._content_prefix + orjson.dumps(text) + self._content_suffix

    def delta(self, delta: StreamDelta) -> bytes:
        """A content and/or tool-call delta without finish_reason."""
        if delta.tool_calls is None and delta.content is not None:
            return self.content(delta.content)
        body: dict[str, Any] = {}
        if delta.content:
            body["content"] = delta.content
        if delta.tool_calls:
            body["tool_calls"] = [_tool_call_delta(d) for d in delta.tool_calls]
        return self._event({**self._head, "choices": [self._choice(body, None)]})

    def final(self, finish_reason: str, usage: Usage | None) -> bytes:
        # Built again at the end: the output screen may have changed the safety verdict.
        routing = routing_fields(self._served, self._tradition)
        body = {**self._head, **routing, "choices": [self._choice({}, finish_reason)]}
        out = self._event(body)
        if self.include_usage:
            usage_body = {**self._head, "choices": [], "usage": usage_dict(usage or Usage())}
            out += self._event(usage_body)
        return out + DONE

    def error(self, exc: EmmausError) -> bytes:
        body = {
            **self._head,
            "choices": [self._choice({}, "error")],
            "error": exc.to_dict(),
        }
        return self._event(body) + DONE
