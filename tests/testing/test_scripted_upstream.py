"""The scripted upstream is a faithful OpenAI server: the official `openai` SDK reads it, JSON and
streams, tool calls, errors; and its script words, counters and runners work."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from emmaus.testing import UpstreamHandle, parse_script, serve_upstream, serve_upstream_process

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["C", "F"]},
                "days": {"type": "integer"},
            },
            "required": ["city", "unit"],
        },
    },
}
HELLO = [{"role": "user", "content": "Grace and peace"}]


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream(tokens=10, token_size=4) as handle:
        yield handle


@pytest.fixture
def client(upstream: UpstreamHandle) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=upstream.base_url, api_key="sk-x", max_retries=0) as client:
        yield client


def test_parse_script() -> None:
    script = parse_script("slow-250+drip-10+fail-429+flaky-2+retryafter-0.5+echo+tag-x+gpt-4o")
    assert script.slow == 0.25
    assert script.drip == 0.01
    assert (script.fail, script.flaky, script.retry_after) == (429, 2, "0.5")
    assert script.has("echo") and not script.has("hang")
    assert parse_script("gpt-4o") == parse_script("tag-1") == parse_script("")
    assert parse_script("slow-abc").slow == 0  # nonsense values are ignored


def test_sdk_completion(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(model="echo", messages=HELLO)  # type: ignore[arg-type]
    assert result.object == "chat.completion"
    assert result.model == "echo"
    assert result.choices[0].message.role == "assistant"
    assert result.choices[0].message.content == "Grace and peace"
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.completion_tokens == 4  # 15 characters in tokens of 4
    assert result.usage.total_tokens == result.usage.prompt_tokens + 4


def test_sdk_fixed_answer_and_max_tokens(client: openai.OpenAI) -> None:
    full = client.chat.completions.create(model="fixed", messages=HELLO)  # type: ignore[arg-type]
    assert full.usage is not None and full.usage.completion_tokens == 10
    content = full.choices[0].message.content or ""
    assert len(content) == 40
    cut = client.chat.completions.create(model="fixed", messages=HELLO, max_tokens=3)  # type: ignore[arg-type]
    assert cut.choices[0].finish_reason == "length"
    assert cut.choices[0].message.content == content[:12]


def test_sdk_stream_with_usage(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="echo+size-3",
            messages=HELLO,  # type: ignore[arg-type]
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Grace and peace"
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == "stop" and set(finish[:-1]) == {None}
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])
    assert len({c.id for c in chunks}) == 1


def test_sdk_stream_without_usage_option(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(model="tokens-3", messages=HELLO, stream=True)  # type: ignore[arg-type]
    )
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.usage is None for c in chunks)


def test_sdk_tool_call(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="fixed",
        messages=HELLO,  # type: ignore[arg-type]
        tools=[WEATHER],  # type: ignore[list-item]
        tool_choice="required",
    )
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    [call] = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "x", "unit": "C"}  # type: ignore[union-attr]


def test_sdk_stream_helper_accumulates_named_tool_call(client: openai.OpenAI) -> None:
    clock = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
    with client.chat.completions.stream(
        model="size-2",
        messages=HELLO,  # type: ignore[arg-type]
        tools=[WEATHER, clock],  # type: ignore[list-item]
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
    ) as stream:
        final = stream.get_final_completion()
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "x", "unit": "C"}  # type: ignore[union-attr]


def test_no_tool_call_under_auto_unless_scripted(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model="fixed", messages=HELLO, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    assert plain.choices[0].message.tool_calls is None
    forced = client.chat.completions.create(model="tools", messages=HELLO, tools=[WEATHER])  # type: ignore[arg-type,list-item]
    assert forced.choices[0].finish_reason == "tool_calls"


async def test_async_sdk_stream(upstream: UpstreamHandle) -> None:
    async with openai.AsyncOpenAI(base_url=upstream.base_url, api_key="x", max_retries=0) as aio:
        stream = await aio.chat.completions.create(
            model="tokens-5+drip-5",
            messages=HELLO,  # type: ignore[arg-type]
            stream=True,
        )
        pieces = [c.choices[0].delta.content async for c in stream if c.choices]
    assert len([p for p in pieces if p]) == 5


def test_sdk_lists_models(client: openai.OpenAI) -> None:
    ids = {model.id for model in client.models.list()}
    assert {"echo", "hang", "slow-<n>", "fail-<n>"} <= ids


def test_sdk_sees_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as limited:
        client.chat.completions.create(model="fail-429+retryafter-7", messages=HELLO)  # type: ignore[arg-type]
    assert limited.value.response.headers["retry-after"] == "7"
    assert "scripted failure 429" in limited.value.message
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="fail-500", messages=HELLO)  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="fail-400", messages=HELLO)  # type: ignore[arg-type]


def test_flaky_counts_per_script_key(client: openai.OpenAI, upstream: UpstreamHandle) -> None:
    for key in ("a", "b"):
        headers = {"x-script-key": f"flaky-test-{key}"}
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="flaky-1", messages=HELLO, extra_headers=headers)  # type: ignore[arg-type]
        client.chat.completions.create(model="flaky-1", messages=HELLO, extra_headers=headers)  # type: ignore[arg-type]


def test_broken_streams_break_the_sdk_too(client: openai.OpenAI) -> None:
    with pytest.raises((json.JSONDecodeError, openai.APIError)):
        list(client.chat.completions.create(model="malformed", messages=HELLO, stream=True))  # type: ignore[arg-type]
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        list(client.chat.completions.create(model="disconnect", messages=HELLO, stream=True))  # type: ignore[arg-type]


def test_stats_count_cancellations_and_reset(upstream: UpstreamHandle) -> None:
    client = openai.OpenAI(base_url=upstream.base_url, api_key="x", max_retries=0, timeout=0.2)
    with client, pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="hang+tag-stats", messages=HELLO)  # type: ignore[arg-type]
    assert asyncio.run(upstream.wait_cancelled("hang+tag-stats"))
    stats = upstream.stats()
    assert stats["requests"]["hang+tag-stats"] == 1
    assert stats["total_cancelled"] >= 1
    seen = upstream.last_request("hang+tag-stats")
    assert seen is not None and seen["authorization"] == "Bearer x"
    upstream.reset()
    assert upstream.stats()["requests"] == {}
    assert upstream.last_request("hang+tag-stats") is None


def test_bad_requests_are_400(upstream: UpstreamHandle) -> None:
    url = f"{upstream.base_url}/chat/completions"
    assert httpx.post(url, content=b"{nope").status_code == 400
    assert httpx.post(url, json={"model": "echo"}).status_code == 400
    assert httpx.get(f"{upstream.root_url}/nowhere").status_code == 404


def test_subprocess_runner() -> None:
    with serve_upstream_process(tokens=3, token_size=2) as handle:
        with openai.OpenAI(base_url=handle.base_url, api_key="x", max_retries=0) as client:
            result = client.chat.completions.create(model="fixed", messages=HELLO)  # type: ignore[arg-type]
        assert result.choices[0].message.content == "l i d "  # 3 tokens of 2 characters
        assert handle.stats()["requests"] == {"fixed": 1}
