"""The SDK's pure parts on the contract's own examples: Gloo's documented bodies (which lack
Emmaus' extra fields) parse into the typed results, a Gloo-style stream (no `[DONE]`, no
routing fields) assembles, SSE framing, error shapes, and what the retry policy waits."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import pytest

from emmaus_client import (
    AuthenticationError,
    NotFoundError,
    ProviderError,
    RateLimitError,
    RetryPolicy,
    StreamInterrupted,
    ValidationError,
)
from emmaus_client._accumulate import CompletionAccumulator, MessageAccumulator
from emmaus_client._retry import retryable_status, server_delay
from emmaus_client._sse import iter_events
from emmaus_client._status import status_error
from emmaus_client.types import ChatCompletion, ChatHistory, GroundedCompletion, MessageResponse

GLOO_V2 = {  # spec §4.3, the v2 reference example
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1704067200,
    "model": "gloo-anthropic-claude-3-sonnet",
    "routing_mechanism": "auto_routing",
    "routing_tier": "standard",
    "routing_confidence": 0.92,
    "tradition": "evangelical",
    "provider": "anthropic",
    "choices": [
        {"finish_reason": "stop", "index": 0, "message": {"content": "…", "role": "assistant"}}
    ],
    "usage": {"completion_tokens": 150, "prompt_tokens": 25, "total_tokens": 175},
}


def test_gloo_bodies_parse_without_emmaus_fields() -> None:
    answer = ChatCompletion.from_dict(GLOO_V2)
    assert (answer.content, answer.finish_reason, answer.usage.total_tokens) == ("…", "stop", 175)
    assert answer.routing.routing_tier == "standard" and answer.routing.routing_confidence == 0.92
    assert answer.safety is None and answer.routing.routing_reason is None

    grounded = GroundedCompletion.from_dict({**GLOO_V2, "sources_returned": True})
    assert grounded.sources_returned and grounded.citations == []
    with_citations = GroundedCompletion.from_dict(
        {**GLOO_V2, "citations": [{"item_title": "T", "item_url": "https://x", "snippets": ["s"]}]}
    )
    assert with_citations.citations[0].item_url == "https://x"
    assert with_citations.citations[0].index is None  # Emmaus-only, absent on Gloo

    sent = MessageResponse.from_dict(  # spec §2.1
        {
            "chat_id": "cb26ddd31-8cd8-4fb0-a258-6691aa43771c",
            "query_id": "q167f294a-703f-4043-9d55-e929e35b2cf3",
            "message_id": "m126384c0-def0-43ac-9d4e-c099ebf4c309",
            "timestamp": "2025-07-14T18:29:42.060759",
            "success": True,
            "message": "My name is Gloo AI Chat.",
            "model": "us.meta.llama3-3-70b-instruct-v1:0",
            "sources": [],
            "sources_limit": 0,
            "suggestions": ["How can I use AI?"],
            "intent": 0,
        }
    )
    assert sent.timestamp is not None and sent.timestamp.utcoffset() is not None
    assert sent.timestamp.microsecond == 60759 and sent.safety is None

    history = ChatHistory.from_dict(
        {
            "user_id": "u8721bb6d",
            "chat_id": "c518c540a",
            "created_at": "2025-07-14T19:04:56.974882",
            "updated_at": "2025-07-14T19:05:03.205307",
            "messages": [
                {"query_id": "q1", "message_id": "m1", "role": "user", "message": "Hi"},
                {"query_id": "q1", "message_id": "m2", "role": "kallm", "message": "Hello"},
            ],
            "pin": False,
            "summary": None,
            "title": "Greeting",
        }
    )
    assert [m.is_assistant for m in history.messages] == [False, True]


def test_a_gloo_style_stream_assembles() -> None:
    lines = [
        'data: {"choices":[{"delta":{"content":"Grace"},"finish_reason":null}]}',
        "",
        ": a comment line",
        'data: {"choices":[{"delta":{"content":" is"},"finish_reason":null}]}',
        "",
        'data: {"choices":[{"delta":{"content":" a gift."},"finish_reason":"stop"}]}',
        "",
    ]  # no [DONE], no routing fields, no usage chunk
    accumulator = CompletionAccumulator()
    deltas = [d for e, data in iter_events(lines) for d in accumulator.feed(e, data)]
    assert [d.content for d in deltas] == ["Grace", " is", " a gift."] and accumulator.done
    final = accumulator.finish()
    assert final.content == "Grace is a gift." and final.routing.routing_mechanism is None


def test_stream_errors() -> None:
    accumulator = CompletionAccumulator()
    chunk = {
        "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}],
        "error": {"code": 2001, "name": "PROVIDER_TIMEOUT", "message": "slow", "retryable": True},
    }
    with pytest.raises(ProviderError) as failed:
        accumulator.feed(None, chunk)
    assert failed.value.name == "PROVIDER_TIMEOUT" and failed.value.code == 2001
    assert failed.value.retryable
    with pytest.raises(StreamInterrupted):
        CompletionAccumulator().finish()  # cut off before any final chunk
    with pytest.raises(StreamInterrupted):
        MessageAccumulator().finish()


def test_sse_framing() -> None:
    lines = [
        "event: response.created",
        'data: {"a":',
        "data: 1}",
        "",
        "data: [DONE]",
        "",
        "data: {}",
    ]
    assert list(iter_events(lines)) == [("response.created", {"a": 1})]


def _response(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_every_error_shape_becomes_a_typed_error() -> None:
    enriched = {"error": {"code": 1101, "name": "CHAT_NOT_FOUND", "message": "no chat"}}
    missing = status_error(_response(404, enriched))
    assert isinstance(missing, NotFoundError) and missing.message == "no chat"
    auth = status_error(_response(401, {"error": "Missing Authorization", "code": "unauthorized"}))
    assert isinstance(auth, AuthenticationError) and auth.code == "unauthorized"
    oauth = status_error(_response(401, {"error": "invalid_client", "error_description": "bad"}))
    assert oauth.message == "bad"
    detail = {"detail": [{"type": "missing", "loc": ["query", "chat_id"], "msg": "Field required"}]}
    invalid = status_error(_response(422, detail))
    assert (
        isinstance(invalid, ValidationError) and invalid.message == "query.chat_id: Field required"
    )
    limited = status_error(_response(429, {"error": "Rate limit exceeded"}, {"Retry-After": "3"}))
    assert isinstance(limited, RateLimitError) and limited.retry_after == 3
    refused = {
        "error": {"code": 2004, "name": "PROVIDER_REJECTED", "message": "x", "retryable": False}
    }
    provider = status_error(_response(502, refused))
    assert isinstance(provider, ProviderError) and not provider.retryable


def test_what_is_retried() -> None:
    assert retryable_status(_response(503), idempotent=True)
    assert retryable_status(_response(408), idempotent=True)
    assert not retryable_status(_response(400), idempotent=True)
    assert not retryable_status(_response(503), idempotent=False)  # may have stored something
    assert retryable_status(_response(429), idempotent=False)  # refused before any work
    in_progress = {"error": {"code": 1105, "name": "IDEMPOTENCY_IN_PROGRESS", "message": "wait"}}
    assert retryable_status(_response(409, in_progress), idempotent=True)
    assert not retryable_status(
        _response(409, {"error": {"name": "LIBRARY_QUOTA"}}), idempotent=True
    )


def test_how_long_the_policy_waits() -> None:
    assert server_delay(_response(429, headers={"Retry-After": "2"})) == 2
    http_date = formatdate(time.time() + 30, usegmt=True)
    assert 25 < (server_delay(_response(429, headers={"Retry-After": http_date})) or 0) <= 30
    assert server_delay(_response(429, headers={"X-RateLimit-Reset": "4"})) == 4
    epoch = str(int(time.time()) + 10)
    assert 8 < (server_delay(_response(429, headers={"X-RateLimit-Reset": epoch})) or 0) <= 10
    policy = RetryPolicy(max_retries=5, base_delay=0.5, max_delay=4)
    assert all(0 <= policy.delay(n) <= min(4, 0.5 * 2**n) for n in range(8) for _ in range(20))
    assert policy.delay(0, _response(429, headers={"Retry-After": "60"})) == 4  # capped


def test_safety_resources_are_typed() -> None:
    from emmaus_client.types import HelpResource, Safety

    safety = Safety.from_dict(
        {
            "action": "support",
            "categories": ["self_harm"],
            "severity": "high",
            "resources": [
                {
                    "name": "988 Suicide & Crisis Lifeline",
                    "contact": "Call or text 988",
                    "description": "24/7",
                    "url": "https://988lifeline.org",
                },
                {"name": "Emergency services", "contact": "Call 911", "description": ""},
                "not a resource",
            ],
        }
    )
    assert safety is not None and safety.resources == [
        HelpResource(
            "988 Suicide & Crisis Lifeline", "Call or text 988", "24/7", "https://988lifeline.org"
        ),
        HelpResource("Emergency services", "Call 911"),
    ]
    older = Safety.from_dict({"action": "none", "categories": [], "severity": "none"})
    assert older is not None and older.resources == []  # a server without the field
