"""`client.completions`: Completions v2 and grounded completions, sync and async.

Routing: pass `model`, `model_family` or `auto_routing=True`; none of them means auto-routing.
Any other field of the wire (`tradition`, `temperature`, `max_tokens`, `tools`, `tool_choice`,
`response_format`, `rag_publisher`, `sources_limit`, `include_citations` ...) is a keyword."""

from __future__ import annotations

from typing import Any

from emmaus_client import _requests as build
from emmaus_client._accumulate import CompletionAccumulator, GroundedAccumulator
from emmaus_client._transport import AsyncTransport, SyncTransport
from emmaus_client.streaming import AsyncStream, Stream
from emmaus_client.types.completions import ChatCompletion, CompletionDelta, GroundedCompletion


class Completions:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(
        self,
        messages: build.Messages,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> ChatCompletion:
        call = build.completion(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=False, options=options,
        )  # fmt: skip
        return ChatCompletion.from_dict(self._transport.request(call))

    def stream(
        self,
        messages: build.Messages,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> Stream[CompletionDelta, ChatCompletion]:
        """Yields `CompletionDelta`s, then the final `ChatCompletion`."""
        call = build.completion(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=True, options=options,
        )  # fmt: skip
        usage = bool((call.json.get("stream_options") or {}).get("include_usage"))
        return Stream(
            lambda: self._transport.stream(call), CompletionAccumulator(expect_usage=usage)
        )

    def grounded(
        self,
        messages: build.Messages | None = None,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> GroundedCompletion:
        call = build.grounded(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=False, options=options,
        )  # fmt: skip
        return GroundedCompletion.from_dict(self._transport.request(call))

    def grounded_stream(
        self,
        messages: build.Messages | None = None,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> Stream[CompletionDelta, GroundedCompletion]:
        """Yields `CompletionDelta`s, then the final `GroundedCompletion` (with the citations
        the stream sent first)."""
        call = build.grounded(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=True, options=options,
        )  # fmt: skip
        usage = bool((call.json.get("stream_options") or {}).get("include_usage"))
        return Stream(lambda: self._transport.stream(call), GroundedAccumulator(expect_usage=usage))


class AsyncCompletions:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(
        self,
        messages: build.Messages,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> ChatCompletion:
        call = build.completion(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=False, options=options,
        )  # fmt: skip
        return ChatCompletion.from_dict(await self._transport.request(call))

    def stream(
        self,
        messages: build.Messages,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> AsyncStream[CompletionDelta, ChatCompletion]:
        call = build.completion(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=True, options=options,
        )  # fmt: skip
        usage = bool((call.json.get("stream_options") or {}).get("include_usage"))
        return AsyncStream(
            lambda: self._transport.stream(call), CompletionAccumulator(expect_usage=usage)
        )

    async def grounded(
        self,
        messages: build.Messages | None = None,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> GroundedCompletion:
        call = build.grounded(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=False, options=options,
        )  # fmt: skip
        return GroundedCompletion.from_dict(await self._transport.request(call))

    def grounded_stream(
        self,
        messages: build.Messages | None = None,
        *,
        model: str | None = None,
        auto_routing: bool | None = None,
        model_family: str | None = None,
        **options: Any,
    ) -> AsyncStream[CompletionDelta, GroundedCompletion]:
        call = build.grounded(
            messages, model=model, auto_routing=auto_routing, model_family=model_family,
            stream=True, options=options,
        )  # fmt: skip
        usage = bool((call.json.get("stream_options") or {}).get("include_usage"))
        return AsyncStream(
            lambda: self._transport.stream(call), GroundedAccumulator(expect_usage=usage)
        )
