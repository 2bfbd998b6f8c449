"""Reading each surface's stream: an accumulator per wire turns SSE events into typed deltas
and, at the end, the same typed result the non-streamed call returns."""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from emmaus_client import errors
from emmaus_client._status import stream_error
from emmaus_client.types.chats import MessageDelta, MessageResponse
from emmaus_client.types.completions import (
    ChatCompletion,
    CompletionDelta,
    GroundedCompletion,
)
from emmaus_client.types.responses import Response, ResponseTextDelta

D = TypeVar("D", covariant=True)
F = TypeVar("F", covariant=True)

_ROUTING = (
    "model",
    "provider",
    "model_family",
    "auto_routing",
    "routing_mechanism",
    "routing_tier",
    "routing_confidence",
    "routing_reason",
    "tradition",
    "safety",
)


class Accumulator(Protocol, Generic[D, F]):
    done: bool  # the final event has arrived: nothing more to read

    def feed(self, event: str | None, data: Any) -> list[D]: ...

    def finish(self) -> F: ...


class CompletionAccumulator:
    """v2 chunks: text and tool-call fragments joined, routing fields from the first and final
    chunks (the final wins: the output screen may change the safety verdict), usage from the
    usage chunk. A `finish_reason: "error"` chunk raises `ProviderError` (with `retryable`)."""

    def __init__(self, *, expect_usage: bool = False) -> None:
        self.expect_usage = expect_usage
        self.done = False
        self.head: dict[str, Any] = {}
        self.content: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] | None = None
        self.extra: dict[str, Any] = {}  # what a chunk without choices carried (grounded)

    def feed(self, event: str | None, data: Any) -> list[CompletionDelta]:
        if not isinstance(data, dict):
            return []
        if data.get("error") is not None and not data.get("choices"):
            raise stream_error(data)
        for key in ("id", "created", *_ROUTING):
            if key in data:
                self.head[key] = data[key]
        if data.get("usage"):
            self.usage = data["usage"]
        delta = CompletionDelta.from_chunk(data)
        if delta is None:
            self.extra.update({k: v for k, v in data.items() if k not in self.head})
            if self.finish_reason is not None:
                self.done = True  # the usage chunk follows the final one
            return []
        if delta.finish_reason == "error":
            raise stream_error(data)
        if delta.content:
            self.content.append(delta.content)
        for call in delta.tool_calls:
            entry = self.calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = call.id or entry["id"]
            entry["name"] = call.name or entry["name"]
            entry["arguments"] += call.arguments
        if delta.finish_reason is not None:
            self.finish_reason = delta.finish_reason
            self.done = not self.expect_usage
        return [delta] if delta.content or delta.tool_calls or delta.finish_reason else []

    def body(self) -> dict[str, Any]:
        if self.finish_reason is None:
            raise errors.StreamInterrupted(
                "the stream ended before its final chunk", status=200, retryable=True
            )
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.content)}
        if self.calls:
            message["tool_calls"] = [
                {
                    "id": c["id"],
                    "type": "function",
                    "function": {"name": c["name"], "arguments": c["arguments"]},
                }
                for _, c in sorted(self.calls.items())
            ]
        return {
            "object": "chat.completion",
            **self.head,
            **{k: v for k, v in self.extra.items() if k not in ("object", "choices")},
            "choices": [{"index": 0, "message": message, "finish_reason": self.finish_reason}],
            "usage": self.usage or {},
        }

    def finish(self) -> ChatCompletion:
        return ChatCompletion.from_dict(self.body())


class GroundedAccumulator(CompletionAccumulator):
    """Grounded streams send `sources_returned` and the citations first, in a chunk without
    choices; the final result is a `GroundedCompletion`."""

    def finish(self) -> GroundedCompletion:  # type: ignore[override]
        return GroundedCompletion.from_dict(self.body())


class MessageAccumulator:
    """v1 streams: `{"message": "<delta>"}` events, then the whole v1 response object (which
    carries `error` when the reply failed mid-way or was stopped)."""

    def __init__(self) -> None:
        self.done = False
        self.final: dict[str, Any] | None = None

    def feed(self, event: str | None, data: Any) -> list[MessageDelta]:
        if not isinstance(data, dict):
            return []
        if "message_id" in data or "chat_id" in data or "query_id" in data:
            self.final, self.done = data, True
            return []
        if isinstance(data.get("message"), str):
            return [MessageDelta(data["message"])]
        return []

    def finish(self) -> MessageResponse:
        if self.final is None:
            raise errors.StreamInterrupted(
                "the stream ended before the final v1 event", status=200, retryable=True
            )
        error = self.final.get("error")
        if isinstance(error, dict) and error.get("name") != "REPLY_STOPPED":
            raise stream_error(self.final)
        return MessageResponse.from_dict(self.final)


_ENDINGS = {"response.completed", "response.incomplete", "response.failed"}


class ResponseAccumulator:
    """Responses streams: `response.output_text.delta` events become `ResponseTextDelta`s; the
    `response.completed` (or `.incomplete`) event's response is the result. `response.failed`
    or an `error` event raises `ProviderError`."""

    def __init__(self) -> None:
        self.done = False
        self.final: dict[str, Any] | None = None
        self.failure: dict[str, Any] | None = None

    def feed(self, event: str | None, data: Any) -> list[ResponseTextDelta]:
        if not isinstance(data, dict):
            return []
        kind = data.get("type") or event
        if kind == "response.output_text.delta":
            return [
                ResponseTextDelta(
                    str(data.get("delta", "")), data.get("item_id"), data.get("output_index")
                )
            ]
        if kind == "error":
            self.failure = data
        elif kind in _ENDINGS:
            self.final, self.done = data.get("response") or {}, True
        return []

    def finish(self) -> Response:
        if self.final is not None and self.final.get("status") != "failed":
            return Response.from_dict(self.final)
        if self.failure is not None or self.final is not None:
            detail = (self.final or {}).get("error") or self.failure or {}
            raise errors.ProviderError(
                str(detail.get("message") or "the response failed"),
                status=200,
                body=self.final or self.failure,
                code=detail.get("code"),
                name=str(detail.get("code") or "").upper() or None,
                retryable=True,
            )
        raise errors.StreamInterrupted(
            "the stream ended before the response was finished", status=200, retryable=True
        )
