"""OpenAIProvider against the scripted upstream over real loopback HTTP: answers, request mapping,
tool calls, streaming. Failures, retries and cancellation: test_openai_provider_failures.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import orjson
import pytest

from emmaus.config import Settings
from emmaus.engine.providers.openai_compat.provider import OpenAIProvider
from emmaus.engine.types import (
    FunctionChoice,
    GenerationParams,
    Message,
    ResponseFormat,
    StreamDelta,
    ToolCall,
    ToolSpec,
)
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.support.upstream import openai_spec, unique

WEATHER = ToolSpec(
    name="get_weather",
    description="Weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
    },
)
TIME = ToolSpec(name="get_time", description=None, parameters={"type": "object", "properties": {}})
HELLO = [Message("system", "Be brief."), Message("user", "Grace and peace to you")]


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=12, token_size=5) as handle:
        yield handle


@pytest.fixture
async def provider() -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(Settings(upstream_backoff=0.01))
    yield provider
    await provider.aclose()


async def collect(stream: AsyncIterator[StreamDelta]) -> list[StreamDelta]:
    return [delta async for delta in stream]


async def test_complete_echo(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    result = await provider.complete(
        openai_spec(upstream.base_url, "echo"), HELLO, GenerationParams()
    )
    assert result.content == "Grace and peace to you"
    assert result.finish_reason == "stop"
    assert result.tool_calls == []
    assert result.usage.prompt_tokens > 0
    assert result.usage.completion_tokens == 5  # the upstream's own count: 22 chars / 5


async def test_complete_fixed_answer_and_length(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "tokens-8")
    full = await provider.complete(spec, HELLO, GenerationParams())
    assert full.finish_reason == "stop"
    assert full.usage.completion_tokens == 8
    cut = await provider.complete(spec, HELLO, GenerationParams(max_tokens=3))
    assert cut.finish_reason == "length"
    assert cut.content == full.content[: len(cut.content)]
    assert cut.usage.completion_tokens == 3


async def test_request_mapping(
    upstream: UpstreamHandle, provider: OpenAIProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMMAUS_TEST_UPSTREAM_KEY", "sk-test-123")
    model = unique("fixed")
    spec = openai_spec(upstream.base_url, model, api_key_env="EMMAUS_TEST_UPSTREAM_KEY")
    messages = [
        Message("system", "You are kind."),
        Message("user", "Weather in Emmaus?", name="cleopas"),
        Message("assistant", None, tool_calls=[ToolCall("call_1", "get_weather", '{"city":"E"}')]),
        Message("tool", '{"sky":"clear"}', tool_call_id="call_1"),
    ]
    params = GenerationParams(
        max_tokens=64,
        temperature=0.2,
        top_p=0.9,
        stop=["\n\n"],
        seed=7,
        response_format=ResponseFormat("json_schema", {"type": "object"}, name="answer"),
        tools=[WEATHER, TIME],
        tool_choice=FunctionChoice("get_time"),
        parallel_tool_calls=False,
    )
    result = await provider.complete(spec, messages, params)
    assert [c.name for c in result.tool_calls] == ["get_time"]

    seen = upstream.last_request(model)
    assert seen is not None
    assert seen["authorization"] == "Bearer sk-test-123"
    body = seen["body"]
    assert body["model"] == model
    assert "stream" not in body
    assert body["messages"] == [
        {"role": "system", "content": "You are kind."},
        {"role": "user", "content": "Weather in Emmaus?", "name": "cleopas"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"E"}'},
                }
            ],
        },
        {"role": "tool", "content": '{"sky":"clear"}', "tool_call_id": "call_1"},
    ]
    assert body["max_tokens"] == 64
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["stop"] == ["\n\n"]
    assert body["seed"] == 7
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}},
    }
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": WEATHER.parameters,
            "description": "Weather for a city",
        },
    }
    assert body["tools"][1] == {
        "type": "function",
        "function": {"name": "get_time", "parameters": TIME.parameters},
    }
    assert body["tool_choice"] == {"type": "function", "function": {"name": "get_time"}}
    assert body["parallel_tool_calls"] is False


async def test_no_key_no_authorization_and_defaults_left_out(
    upstream: UpstreamHandle, provider: OpenAIProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMMAUS_TEST_UNSET_KEY", raising=False)
    model = unique("fixed")
    spec = openai_spec(upstream.base_url, model, api_key_env="EMMAUS_TEST_UNSET_KEY")
    await provider.complete(spec, HELLO, GenerationParams(tool_choice="none"))
    seen = upstream.last_request(model)
    assert seen is not None
    assert seen["authorization"] is None
    assert set(seen["body"]) == {"model", "messages", "tool_choice"}


async def test_complete_tool_call_required(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "fixed")
    params = GenerationParams(tools=[WEATHER], tool_choice="required")
    result = await provider.complete(spec, HELLO, params)
    assert result.finish_reason == "tool_calls"
    assert result.content is None
    [call] = result.tool_calls
    assert call.name == "get_weather"
    assert call.id
    assert orjson.loads(call.arguments) == {"city": "x", "days": 1}


async def test_stream_echo(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    model = unique("echo+size-4")
    deltas = await collect(
        provider.stream(openai_spec(upstream.base_url, model), HELLO, GenerationParams())
    )
    *body, last = deltas
    assert "".join(d.content or "" for d in body) == "Grace and peace to you"
    assert all(d.finish_reason is None and d.usage is None for d in body)
    assert len(body) == 6  # 22 characters in pieces of 4
    assert last.content is None
    assert last.finish_reason == "stop"
    assert last.usage is not None
    assert last.usage.completion_tokens == 6  # the upstream's usage chunk
    seen = upstream.last_request(model)
    assert seen is not None
    assert seen["body"]["stream"] is True
    assert seen["body"]["stream_options"] == {"include_usage": True}


async def test_stream_length(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    spec = openai_spec(upstream.base_url, "tokens-10")
    deltas = await collect(provider.stream(spec, HELLO, GenerationParams(max_tokens=4)))
    assert len([d for d in deltas if d.content]) == 4
    assert deltas[-1].finish_reason == "length"


async def test_stream_tool_calls(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    spec = openai_spec(upstream.base_url, "calls-2+size-3")
    params = GenerationParams(tools=[WEATHER, TIME], tool_choice="required")
    deltas = await collect(provider.stream(spec, HELLO, params))
    calls: dict[int, dict[str, str]] = {}
    for delta in deltas[:-1]:
        assert delta.content is None
        for part in delta.tool_calls or []:
            call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
            call["id"] += part.id or ""
            call["name"] += part.name or ""
            call["arguments"] += part.arguments
    assert [calls[i]["name"] for i in sorted(calls)] == ["get_weather", "get_time"]
    assert all(call["id"].startswith("call_") for call in calls.values())
    assert orjson.loads(calls[0]["arguments"]) == {"city": "x", "days": 1}
    assert orjson.loads(calls[1]["arguments"]) == {}
    assert deltas[-1].finish_reason == "tool_calls"
    assert deltas[-1].usage is not None


async def test_stream_tolerates_comments_and_missing_done(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "ping+no-done+tokens-5")
    deltas = await collect(provider.stream(spec, HELLO, GenerationParams()))
    assert len([d for d in deltas if d.content]) == 5
    assert deltas[-1].finish_reason == "stop"


async def test_stream_without_usage_is_estimated(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "no-usage+tokens-10+size-8")
    deltas = await collect(provider.stream(spec, HELLO, GenerationParams()))
    usage = deltas[-1].usage
    assert usage is not None
    assert usage.completion_tokens == 20  # 80 characters at ~4 per token
    assert usage.prompt_tokens >= 2 * 4  # two messages, at least their template overhead


async def test_complete_without_usage_is_estimated(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "no-usage+tokens-10+size-8")
    result = await provider.complete(spec, HELLO, GenerationParams())
    assert result.usage.completion_tokens == 20
    assert result.usage.prompt_tokens > 0


async def test_keep_alive_reuses_one_connection(upstream: UpstreamHandle) -> None:
    provider = OpenAIProvider(Settings())
    spec = openai_spec(upstream.base_url, "fixed")
    upstream.reset()
    for _ in range(5):
        await provider.complete(spec, HELLO, GenerationParams())
        await collect(provider.stream(spec, HELLO, GenerationParams()))
    await provider.aclose()
    assert upstream.stats()["connections"] == 1


async def test_concurrency_is_bounded_by_max_connections(upstream: UpstreamHandle) -> None:
    provider = OpenAIProvider(Settings(upstream_max_connections=10))
    spec = openai_spec(upstream.base_url, "slow-100+tokens-2")
    upstream.reset()
    calls = [provider.complete(spec, HELLO, GenerationParams()) for _ in range(30)]
    calls += [collect(provider.stream(spec, HELLO, GenerationParams())) for _ in range(10)]
    results = await asyncio.gather(*calls)
    await provider.aclose()
    assert len(results) == 40
    stats = upstream.stats()
    assert stats["max_in_flight"] <= 10
    assert stats["connections"] <= 10
    assert stats["in_flight"] == 0


async def test_count_tokens_is_local_and_sane(provider: OpenAIProvider) -> None:
    spec = openai_spec("http://127.0.0.1:9/v1", "none")
    assert provider.count_tokens(spec, "") == 0
    assert provider.count_tokens(spec, "a b c d e f") == 6  # a word is at least a token
    prose = "The road to Emmaus is about seven miles from Jerusalem. " * 10
    assert 100 <= provider.count_tokens(spec, prose) <= 160


async def test_aclose_then_reuse(upstream: UpstreamHandle) -> None:
    provider = OpenAIProvider(Settings())
    spec = openai_spec(upstream.base_url, "fixed")
    await provider.complete(spec, HELLO, GenerationParams())
    await provider.aclose()
    assert provider._upstreams == {}
    await provider.complete(spec, HELLO, GenerationParams())  # a fresh client, not a closed one
    await provider.aclose()


async def test_stream_from_a_server_that_does_not_stream(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "no-sse+echo")
    deltas = await collect(provider.stream(spec, HELLO, GenerationParams()))
    assert [d.content for d in deltas[:-1]] == ["Grace and peace to you"]
    assert deltas[-1].finish_reason == "stop"
    tools = GenerationParams(tools=[WEATHER], tool_choice="required")
    deltas = await collect(provider.stream(spec, HELLO, tools))
    [call] = deltas[0].tool_calls or []
    assert (call.index, call.name) == (0, "get_weather")
    assert orjson.loads(call.arguments) == {"city": "x", "days": 1}
    assert deltas[-1].finish_reason == "tool_calls"


async def test_stream_from_a_server_refusing_stream_options(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("no-stream-options+tokens-4+size-4")
    deltas = await collect(
        provider.stream(openai_spec(upstream.base_url, model), HELLO, GenerationParams())
    )
    assert len(deltas) == 5
    assert deltas[-1].usage is not None and deltas[-1].usage.completion_tokens == 4  # estimated
    assert upstream.stats()["requests"][model] == 2
    seen = upstream.last_request(model)
    assert seen is not None and "stream_options" not in seen["body"]
