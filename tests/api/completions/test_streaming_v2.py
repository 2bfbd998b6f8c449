"""Completions v2 streaming: the SSE wire read by a plain reader and by the openai SDK, errors
mid-stream, and client disconnects cancelling the upstream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import openai
import pytest

from emmaus.testing import UpstreamHandle

URL = "/ai/v2/chat/completions"


def read_sse(response: httpx.Response) -> list[Any]:
    """Parse an SSE body into JSON events; `[DONE]` becomes the string "[DONE]"."""
    events: list[Any] = []
    for line in response.iter_lines():
        if not line.startswith("data: "):
            assert line == "" or line.startswith(":"), line
            continue
        data = line.removeprefix("data: ")
        events.append(data if data == "[DONE]" else json.loads(data))
    return events


def stream(http: httpx.Client, payload: dict[str, Any]) -> tuple[httpx.Response, list[Any]]:
    with http.stream("POST", URL, json={**payload, "stream": True}) as response:
        return response, read_sse(response) if response.status_code == 200 else []


def test_plain_sse_reader_sees_openai_shape(http: httpx.Client) -> None:
    payload = {
        "messages": [{"role": "user", "content": "Grace upon grace"}],
        "model": "echo-openai",
        "tradition": "mainline",
        "stream_options": {"include_usage": True},
    }
    response, events = stream(http, payload)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    first, final, usage = chunks[0], chunks[-2], chunks[-1]
    ids = {c["id"] for c in chunks}
    assert len(ids) == 1 and ids.pop().startswith("chatcmpl-")
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert all(c["model"] == "echo-openai" for c in chunks)
    assert first["choices"][0]["delta"]["role"] == "assistant"
    for chunk in (first, final):
        assert chunk["routing_mechanism"] == "direct_model_selection"
        assert chunk["tradition"] == "mainline"
        assert chunk["model_family"] == "OpenAI"
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1])
    assert text == "Grace upon grace"
    middle = chunks[1:-2]
    assert middle and all(c["choices"][0]["finish_reason"] is None for c in middle)
    assert final["choices"][0]["finish_reason"] == "stop"
    assert usage["choices"] == []
    assert usage["usage"]["completion_tokens"] > 0


def test_no_usage_chunk_unless_asked(http: httpx.Client) -> None:
    _, events = stream(http, {"messages": [{"role": "user", "content": "hi"}], "model": "scripted"})
    assert events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert all("usage" not in e for e in events[:-1])


def test_streamed_tool_calls(http: httpx.Client) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {
                "type": "object",
                "properties": {"verse": {"type": "string"}},
                "required": ["verse"],
            },
        },
    }
    _, events = stream(
        http,
        {
            "messages": [{"role": "user", "content": "John 3:16"}],
            "model": "echo-openai",
            "tools": [tool],
            "tool_choice": "required",
        },
    )
    fragments = [d for e in events[:-1] for d in e["choices"][0]["delta"].get("tool_calls") or []]
    assert fragments[0]["id"] and fragments[0]["function"]["name"] == "lookup"
    arguments = "".join(f["function"]["arguments"] for f in fragments)
    assert "verse" in json.loads(arguments)
    assert events[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_upstream_failure_before_stream_is_an_http_error(http: httpx.Client) -> None:
    response, _ = stream(
        http, {"messages": [{"role": "user", "content": "x"}], "model": "google-broken"}
    )
    assert response.status_code == 503


def test_family_stream_falls_back_before_first_byte(http: httpx.Client) -> None:
    _, events = stream(
        http, {"messages": [{"role": "user", "content": "ok"}], "model_family": "google"}
    )
    assert events[0]["model"] == "google-ok"
    assert "fell back" in events[0]["routing_reason"]


@pytest.mark.parametrize("script", ["disconnect", "malformed", "no-finish"])
def test_failure_mid_stream_is_an_error_chunk(
    http: httpx.Client, upstream: UpstreamHandle, script: str
) -> None:
    _, events = stream(
        http, {"messages": [{"role": "user", "content": "x"}], "model": f"mid-{script}"}
    )
    assert events[-1] == "[DONE]"
    error_chunk = events[-2]
    assert error_chunk["choices"][0]["finish_reason"] == "error"
    assert error_chunk["error"]["name"] == "PROVIDER_STREAM_BROKEN"
    assert error_chunk["error"]["retryable"] is True
    assert isinstance(error_chunk["error"]["code"], int)


def test_openai_sdk_streams_and_completes(base_url: str, auth_headers: dict[str, str]) -> None:
    client = openai.OpenAI(
        base_url=f"{base_url}/ai/v2",
        api_key=auth_headers.get("Authorization", "Bearer none").removeprefix("Bearer "),
    )
    completion = client.chat.completions.create(
        model="echo-openai",
        messages=[{"role": "user", "content": "Peace be with you"}],
        extra_body={"tradition": "evangelical"},
    )
    assert completion.choices[0].message.content == "Peace be with you"
    assert completion.model_extra is not None
    assert completion.model_extra["routing_mechanism"] == "direct_model_selection"

    routed = client.chat.completions.create(
        model="auto",
        messages=[{"role": "user", "content": "Hi"}],
        extra_body={"auto_routing": True},
    )
    assert routed.model_extra is not None and routed.model_extra["auto_routing"] is True

    pieces = []
    with client.chat.completions.create(
        model="echo-openai",
        messages=[{"role": "user", "content": "And also with you"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as events:
        for chunk in events:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                assert chunk.usage.completion_tokens > 0
    assert "".join(pieces) == "And also with you"


def test_openai_sdk_raises_on_error_mid_stream(
    base_url: str,
    auth_headers: dict[str, str],
) -> None:
    client = openai.OpenAI(
        base_url=f"{base_url}/ai/v2",
        api_key=auth_headers.get("Authorization", "Bearer none").removeprefix("Bearer "),
        max_retries=0,
    )
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(
            model="mid-disconnect", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            pass


def test_client_disconnect_cancels_stream_upstream(
    http: httpx.Client,
    upstream: UpstreamHandle,
) -> None:
    payload = {"messages": [{"role": "user", "content": "x"}], "model": "slow-drip", "stream": True}
    with http.stream("POST", URL, json=payload) as response:
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
    assert asyncio.run(upstream.wait_cancelled("drip-100+tokens-200+tag-cancel", within=1.0))


def test_client_disconnect_cancels_non_streaming_upstream(
    base_url: str,
    auth_headers: dict[str, str],
    upstream: UpstreamHandle,
) -> None:
    payload = {"messages": [{"role": "user", "content": "x"}], "model": "slow-start"}
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{base_url}{URL}", json=payload, headers=auth_headers, timeout=0.5)
    assert asyncio.run(upstream.wait_cancelled("slow-5000+tag-cancel2", within=1.0))
    assert time.monotonic() - started < 3


def test_openai_sdk_tool_calls_streamed_and_not(
    base_url: str, auth_headers: dict[str, str]
) -> None:
    client = openai.OpenAI(
        base_url=f"{base_url}/ai/v2",
        api_key=auth_headers["Authorization"].removeprefix("Bearer "),
    )
    tools: Any = [
        {
            "type": "function",
            "function": {
                "name": "create_growth_plan",
                "parameters": {
                    "type": "object",
                    "properties": {"goal_title": {"type": "string"}},
                    "required": ["goal_title"],
                },
            },
        }
    ]
    messages: Any = [{"role": "user", "content": "I want to grow in my faith."}]
    reply = client.chat.completions.create(
        model="echo-openai", messages=messages, tools=tools, tool_choice="required"
    )
    call = reply.choices[0].message.tool_calls[0]  # type: ignore[index]
    assert call.function.name == "create_growth_plan"  # type: ignore[union-attr]
    assert "goal_title" in json.loads(call.function.arguments)  # type: ignore[union-attr]

    arguments, name = "", None
    for chunk in client.chat.completions.create(
        model="echo-openai", messages=messages, tools=tools, tool_choice="required", stream=True
    ):
        for fragment in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name = name or (fragment.function.name if fragment.function else None)
            arguments += (fragment.function.arguments or "") if fragment.function else ""
    assert name == "create_growth_plan"
    assert "goal_title" in json.loads(arguments)
