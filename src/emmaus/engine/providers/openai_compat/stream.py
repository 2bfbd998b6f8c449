"""Reads an OpenAI chat-completions SSE stream into `StreamDelta`s.

OpenAI ends a stream with a chunk carrying `finish_reason`, then (with `include_usage`) a chunk
with `"choices": []` and the usage, then `data: [DONE]`. Other servers omit `[DONE]` (Gloo),
the usage, or send the usage on the finish chunk. So the finish is held back and yielded once
the body ends, as one last delta with `finish_reason` and `usage` (estimated when absent)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from emmaus.engine.providers.openai_compat import wire
from emmaus.engine.providers.token_estimate import estimate_tokens
from emmaus.engine.types import FinishReason, Message, StreamDelta, Usage
from emmaus.errors import ProviderStreamBroken


class StreamReader:
    __slots__ = ("_done", "_finish", "_model", "_pieces", "_tool_calls", "_usage")

    def __init__(self, model_id: str) -> None:
        self._model = model_id
        self._finish: FinishReason | None = None
        self._usage: Usage | None = None
        self._pieces: list[str] = []  # kept only to estimate usage when the upstream sends none
        self._tool_calls = False
        self._done = False

    def handle(self, data: bytes) -> StreamDelta | None:
        """One event's data; a delta when it carries content or tool-call fragments."""
        if self._done:
            return None
        if data == b"[DONE]":
            self._done = True
            return None
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ProviderStreamBroken(f"{self._model}: unreadable chunk {data[:120]!r}") from exc
        if not isinstance(chunk, dict):
            raise ProviderStreamBroken(f"{self._model}: unexpected chunk {data[:120]!r}")
        if chunk.get("error"):
            raise ProviderStreamBroken(f"{self._model}: {wire.error_message(data, 200)}")
        usage = chunk.get("usage")
        if usage:
            self._usage = wire.parse_usage(usage)
        choices = chunk.get("choices")
        if not choices:
            return None
        choice = choices[0]
        reason = choice.get("finish_reason")
        if reason:
            if reason == "error":
                raise ProviderStreamBroken(f"{self._model}: the upstream stream failed")
            self._finish = wire.finish_reason(reason, False)
        delta = choice.get("delta")
        if not delta:
            return None
        content = delta.get("content") or None
        calls = delta.get("tool_calls")
        if calls:
            self._tool_calls = True
            tool_deltas = wire.tool_call_deltas(calls)
            self._pieces.extend(d.arguments for d in tool_deltas if d.arguments)
            if content is not None:
                self._pieces.append(content)
            return StreamDelta(content=content, tool_calls=tool_deltas)
        if content is None:
            return None
        self._pieces.append(content)
        return StreamDelta(content=content)

    def final(self, messages: Sequence[Message]) -> StreamDelta:
        """The closing delta, once the body has ended."""
        finish = self._finish
        if finish is None:
            raise ProviderStreamBroken(f"{self._model}: the stream ended without finish_reason")
        if self._tool_calls and finish == "stop":
            finish = "tool_calls"
        usage = self._usage
        if usage is None:
            spent = estimate_tokens("".join(self._pieces))
            usage = Usage(wire.estimate_prompt_tokens(messages), spent)
        return StreamDelta(finish_reason=finish, usage=usage)
