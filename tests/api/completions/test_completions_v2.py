"""`POST /ai/v2/chat/completions` over HTTP, non-streaming: the contract field by field, routing,
fallback, and every kind of bad input answered by a clear 4xx."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from emmaus.testing import UpstreamHandle

URL = "/ai/v2/chat/completions"
DEEP = (
    "Explain and compare the exegesis of justification in Calvin and the Catechism, evaluate "
    "the implications, step by step."
)


def ask(text: str = "Hello there", **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], **fields}


def test_direct_model_field_by_field(http: httpx.Client, upstream: UpstreamHandle) -> None:
    response = http.post(
        URL, json=ask("Grace is a gift", model="echo-openai", tradition="catholic")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"].startswith("chatcmpl-")
    assert body["object"] == "chat.completion"
    assert isinstance(body["created"], int)
    assert body["model"] == "echo-openai"
    assert body["provider"] == "openai"
    assert body["model_family"] == "OpenAI"
    assert body["auto_routing"] is False
    assert body["routing_mechanism"] == "direct_model_selection"
    assert body["routing_tier"] == "tier_2"
    assert body["routing_confidence"] == 1.0
    assert "chosen by the caller" in body["routing_reason"]
    assert body["tradition"] == "catholic"
    (choice,) = body["choices"]
    assert choice["index"] == 0
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Grace is a gift"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert usage["completion_tokens"] > 0

    sent = upstream.last_request("echo")
    assert sent is not None
    assert sent["authorization"] == "Bearer sk-upstream-secret"
    system = sent["body"]["messages"][0]
    assert system["role"] == "system"
    assert "Catholic" in system["content"]


def test_caller_system_message_is_kept(http: httpx.Client, upstream: UpstreamHandle) -> None:
    messages = [
        {"role": "system", "content": "Answer like a pirate."},
        {"role": "user", "content": "Ahoy"},
    ]
    response = http.post(URL, json={"messages": messages, "model": "echo-openai"})
    assert response.status_code == 200
    sent = upstream.last_request("echo")
    assert sent is not None
    system = sent["body"]["messages"][0]["content"]
    assert "broadly Christian" in system  # tradition omitted: the general layer
    assert system.endswith("Answer like a pirate.")


def test_auto_routing_by_query(http: httpx.Client) -> None:
    deep = http.post(URL, json=ask(DEEP, auto_routing=True)).json()
    assert deep["routing_mechanism"] == "auto_routing"
    assert deep["auto_routing"] is True
    assert deep["routing_tier"] == "tier_3"
    assert deep["model"] == "deep-anthropic"
    assert deep["model_family"] == "Anthropic"
    assert 0 <= deep["routing_confidence"] <= 1
    assert "critical analysis" in deep["routing_reason"]  # the signal that decided, in words


def test_model_family_with_auto_routing_false(http: httpx.Client) -> None:
    body = http.post(URL, json=ask(model_family="anthropic", auto_routing=False)).json()
    assert body["routing_mechanism"] == "model_family"
    assert body["model"] == "deep-anthropic"
    # A simple query wants tier_1; the family's nearest tier is tier_3.
    assert body["routing_tier"] == "tier_1"
    assert "nearest is tier_3" in body["routing_reason"]


def test_failing_model_falls_back_within_tier_and_family(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    body = http.post(URL, json=ask("Fall back please", model_family="google")).json()
    assert body["model"] == "google-ok"
    assert body["choices"][0]["message"]["content"] == "Fall back please"
    assert "fell back to google-ok" in body["routing_reason"]
    assert upstream.stats()["requests"].get("fail-500+tag-broken", 0) >= 2  # retried, then left


def test_direct_choice_never_falls_back(http: httpx.Client) -> None:
    response = http.post(URL, json=ask(model="google-broken"))
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["name"] == "PROVIDER_UNAVAILABLE"
    assert error["retryable"] is True


def test_tools_and_response_format_are_forwarded(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "create_growth_plan",
            "description": "Make a plan",
            "parameters": {
                "type": "object",
                "properties": {"goal_title": {"type": "string"}},
                "required": ["goal_title"],
            },
        },
    }
    body = http.post(
        URL,
        json=ask(
            "I want to grow in my faith.",
            model="echo-openai",
            tools=[tool],
            tool_choice={"type": "function", "function": {"name": "create_growth_plan"}},
            parallel_tool_calls=False,
            temperature=0.2,
            top_p=0.9,
            seed=7,
            stop=["\n\n"],
            max_completion_tokens=50,
        ),
    ).json()
    (choice,) = body["choices"]
    assert choice["finish_reason"] == "tool_calls"
    (call,) = choice["message"]["tool_calls"]
    assert call["type"] == "function"
    assert call["function"]["name"] == "create_growth_plan"
    assert "goal_title" in call["function"]["arguments"]
    sent = upstream.last_request("echo")
    assert sent is not None
    forwarded = sent["body"]
    assert forwarded["tool_choice"] == {
        "type": "function",
        "function": {"name": "create_growth_plan"},
    }
    assert forwarded["parallel_tool_calls"] is False
    assert forwarded["temperature"] == 0.2
    assert forwarded["top_p"] == 0.9
    assert forwarded["seed"] == 7
    assert forwarded["stop"] == ["\n\n"]
    assert forwarded.get("max_tokens", forwarded.get("max_completion_tokens")) == 50


def test_multi_turn_tool_results_are_accepted(http: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "Plan please"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        {"role": "user", "content": [{"type": "text", "text": "Thanks"}]},
    ]
    response = http.post(URL, json={"messages": messages, "model": "echo-openai"})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Thanks"


def test_max_tokens_gives_length(http: httpx.Client) -> None:
    body = http.post(URL, json=ask(model="scripted", max_tokens=3)).json()
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 3


def test_catalog_endpoints(http: httpx.Client) -> None:
    public = httpx.get(f"{http.base_url}/platform/v2/models").json()
    listed = http.get("/ai/v2/models").json()
    assert public == listed
    ids = [m["id"] for m in public["data"]]
    assert "echo-openai" in ids and "emmaus-smollm2-135m" in ids
    entry = next(m for m in public["data"] if m["id"] == "deep-anthropic")
    assert entry["family"] == "Anthropic"
    assert entry["tier"] == "tier_3"
    assert entry["context_window"] == 200000
    assert entry["pricing"]["input_per_1k_tokens"] == 3.0
    assert "tools" in entry["capabilities"]
    assert "base_url" not in entry
    assert http.get("/ai/v2/models/deep-anthropic").json()["id"] == "deep-anthropic"
    missing = http.get("/ai/v2/models/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["name"] == "MODEL_NOT_FOUND"


INVALID: list[tuple[str, Any, int, str]] = [
    ("no mechanism", ask(), 422, "ROUTING_RULE"),
    ("auto false only", ask(auto_routing=False), 422, "ROUTING_RULE"),
    ("sdk auto model only", ask(model="auto"), 422, "ROUTING_RULE"),
    ("two mechanisms", ask(auto_routing=True, model="echo-openai"), 422, "ROUTING_RULE"),
    (
        "three mechanisms",
        ask(auto_routing=True, model="x", model_family="google"),
        422,
        "ROUTING_RULE",
    ),
    ("unknown model", ask(model="gloo-nope"), 404, "MODEL_NOT_FOUND"),
    ("unknown family", ask(model_family="ibm"), 422, "INVALID_REQUEST"),
    ("unknown tradition", ask(auto_routing=True, tradition="jedi"), 422, "INVALID_REQUEST"),
    ("no messages", {"auto_routing": True}, 422, "INVALID_REQUEST"),
    ("empty messages", {"messages": [], "auto_routing": True}, 422, "INVALID_REQUEST"),
    ("bad role", {"messages": [{"role": "bot", "content": "x"}], "auto_routing": True}, 422, ""),
    ("no content", {"messages": [{"role": "user"}], "auto_routing": True}, 422, ""),
    (
        "tool without id",
        {"messages": [{"role": "tool", "content": "x"}], "model": "scripted"},
        422,
        "",
    ),
    ("temperature high", ask(auto_routing=True, temperature=2.5), 422, ""),
    ("temperature negative", ask(auto_routing=True, temperature=-1), 422, ""),
    ("max_tokens zero", ask(auto_routing=True, max_tokens=0), 422, ""),
    ("top_p zero", ask(auto_routing=True, top_p=0), 422, ""),
    ("n two", ask(auto_routing=True, n=2), 422, ""),
    ("five stops", ask(auto_routing=True, stop=["a", "b", "c", "d", "e"]), 422, ""),
    ("bad tool_choice", ask(auto_routing=True, tool_choice="sometimes"), 422, ""),
    (
        "named tool missing",
        ask(auto_routing=True, tool_choice={"type": "function", "function": {"name": "f"}}),
        422,
        "",
    ),
    ("required without tools", ask(auto_routing=True, tool_choice="required"), 422, ""),
    (
        "json_schema without schema",
        ask(auto_routing=True, response_format={"type": "json_schema"}),
        422,
        "",
    ),
    (
        "tools on a tool-less model",
        ask(model="google-ok", tools=[{"type": "function", "function": {"name": "f"}}]),
        422,
        "UNSUPPORTED_CAPABILITY",
    ),
    (
        "json on a family without it",
        ask(model_family="google", response_format={"type": "json_object"}),
        422,
        "NO_MODEL_AVAILABLE",
    ),
    ("messages not a list", {"messages": "hi", "auto_routing": True}, 422, ""),
    ("body not an object", [1, 2], 422, ""),
]


@pytest.mark.parametrize(
    ("case", "payload", "status", "name"), INVALID, ids=[c[0] for c in INVALID]
)
def test_invalid_input_is_a_clear_4xx(
    http: httpx.Client, case: str, payload: Any, status: int, name: str
) -> None:
    response = http.post(URL, json=payload)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["message"]
    assert isinstance(body["error"]["code"], int)
    if name:
        assert body["error"]["name"] == name
    if status == 422 and not name.startswith(("ROUTING", "NO_", "UNSUPP")):
        assert isinstance(body["detail"], (list, str))


def test_routing_rule_message_names_the_rule(http: httpx.Client) -> None:
    body = http.post(URL, json=ask()).json()
    assert "exactly one routing mechanism" in body["error"]["message"]
    assert "exactly one routing mechanism" in body["detail"]


def test_malformed_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        URL, content=b'{"messages": [', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_oversized_body_is_413(http: httpx.Client) -> None:
    big = ask("x" * 100_000, auto_routing=True)
    response = http.post(URL, json=big)
    assert response.status_code == 413
    error = response.json()["error"]  # the family's enriched error object
    assert error["name"] == "REQUEST_TOO_LARGE" and error["type"] == "invalid_request_error"
    assert "65,536 bytes" in error["message"]


def test_oversized_chunked_body_is_413(http: httpx.Client) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}], "auto_routing": true}'

    response = http.post(URL, content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_uploads_have_their_own_larger_bound(http: httpx.Client) -> None:
    body = b"--x\r\n" + b"a" * 100_000  # over the 64 KiB request bound, under the upload bound
    headers = {"content-type": "multipart/form-data; boundary=x"}
    response = http.post("/ai/v2/library/documents", content=body, headers=headers)
    assert response.status_code != 413
    assert 400 <= response.status_code < 500
