"""The embedded model (SmolLM2 via llama.cpp) end to end through the HTTP API, with tiny outputs."""

from __future__ import annotations

import json

import httpx

from tests.api.completions.test_streaming_v2 import read_sse

URL = "/ai/v2/chat/completions"
MODEL = "emmaus-smollm2-135m"


def test_auto_routed_simple_question_runs_on_the_embedded_model(http: httpx.Client) -> None:
    response = http.post(
        URL,
        json={
            "messages": [{"role": "user", "content": "Hi"}],
            "auto_routing": True,
            "max_tokens": 8,
            "temperature": 0,
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == MODEL
    assert body["provider"] == "emmaus"
    assert body["model_family"] == "Open Source"
    assert body["routing_tier"] == "tier_1"
    assert body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    assert 0 < body["usage"]["completion_tokens"] <= 8


def test_embedded_stream(http: httpx.Client) -> None:
    payload = {
        "messages": [{"role": "user", "content": "Name a gospel."}],
        "model": MODEL,
        "max_tokens": 6,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with http.stream("POST", URL, json=payload) as response:
        events = read_sse(response)
    assert events[-1] == "[DONE]"
    assert events[-2]["usage"]["completion_tokens"] <= 6
    assert events[-3]["choices"][0]["finish_reason"] in ("stop", "length")
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2])
    assert text.strip()


def test_embedded_forced_tool_call_parses(http: httpx.Client) -> None:
    parameters = {
        "type": "object",
        "properties": {"goal_title": {"type": "string"}, "weeks": {"type": "integer"}},
        "required": ["goal_title", "weeks"],
    }
    response = http.post(
        URL,
        json={
            "messages": [{"role": "user", "content": "I want to grow in my faith."}],
            "model": MODEL,
            "tools": [{"type": "function", "function": {"name": "plan", "parameters": parameters}}],
            "tool_choice": "required",
            "max_tokens": 48,
        },
    )
    assert response.status_code == 200, response.text
    choice = response.json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_")
    arguments = json.loads(call["function"]["arguments"])
    assert isinstance(arguments["goal_title"], str)
    assert isinstance(arguments["weeks"], int)


def test_embedded_json_schema_output_parses(http: httpx.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"book": {"type": "string"}},
        "required": ["book"],
    }
    response = http.post(
        URL,
        json={
            "messages": [{"role": "user", "content": "Name one book of the Bible as JSON."}],
            "model": MODEL,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "b", "schema": schema},
            },
            "max_tokens": 32,
        },
    )
    assert response.status_code == 200, response.text
    assert isinstance(json.loads(response.json()["choices"][0]["message"]["content"])["book"], str)


def test_full_queue_is_a_503_with_retry_after(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One request runs, one waits; the rest are told to come back later."""
    import asyncio

    from emmaus.api.app import create_app
    from emmaus.config import Settings
    from tests.support.auth import bearer_headers
    from tests.support.live_server import live_server

    settings = Settings(data_dir=tmp_path, local_queue_size=1)
    payload = {
        "messages": [{"role": "user", "content": "Tell me a story."}],
        "model": MODEL,
        "max_tokens": 24,
    }
    with live_server(create_app(settings)) as base:
        headers = bearer_headers(base, settings)

        async def burst() -> list[httpx.Response]:
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
                return await asyncio.gather(*(client.post(URL, json=payload) for _ in range(6)))

        responses = asyncio.run(burst())
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) >= 2, statuses
    refused = [r for r in responses if r.status_code == 503]
    assert refused, statuses
    for response in refused:
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"]["name"] == "PROVIDER_OVERLOADED"
