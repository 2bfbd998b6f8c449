"""The pure parts of the OpenAI provider: SSE decoding, Retry-After, error messages, finish
reasons, the stream reader's edge cases and the token estimate."""

from __future__ import annotations

import email.utils

import pytest

from emmaus.engine.providers.openai_compat import wire
from emmaus.engine.providers.openai_compat.sse import SSEDecoder
from emmaus.engine.providers.openai_compat.stream import StreamReader
from emmaus.engine.providers.token_estimate import estimate_tokens
from emmaus.engine.types import Message
from emmaus.errors import ProviderStreamBroken


def test_sse_events_split_across_reads() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'data: {"a"') == []
    assert decoder.feed(b":1}\n") == []
    assert decoder.feed(b"\ndata: [DONE]\n\n") == [b'{"a":1}', b"[DONE]"]


def test_sse_crlf_comments_fields_and_multiline_data() -> None:
    decoder = SSEDecoder()
    stream = b': ping\r\nevent: message\r\nid: 3\r\ndata: {"a":\r\ndata:1}\r\n\r\n'
    assert decoder.feed(stream) == [b'{"a":\n1}']


def test_sse_last_event_without_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: one\n\ndata: two") == [b"one"]
    assert decoder.close() == [b"two"]
    assert decoder.close() == []


def test_retry_after_seconds_and_dates() -> None:
    assert wire.parse_retry_after(None) is None
    assert wire.parse_retry_after("") is None
    assert wire.parse_retry_after("3") == 3.0
    assert wire.parse_retry_after("0.5") == 0.5
    assert wire.parse_retry_after("-2") == 0.0
    assert wire.parse_retry_after("soon") is None
    now = 1_800_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert wire.parse_retry_after(date, now=now) == pytest.approx(30)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert wire.parse_retry_after(past, now=now) == 0.0


def test_error_message_shapes() -> None:
    openai = b'{"error": {"message": "bad temperature", "type": "invalid_request_error"}}'
    assert wire.error_message(openai, 400) == "upstream answered 400: bad temperature"
    assert wire.error_message(b'{"error": "model not found"}', 404).endswith("model not found")
    assert wire.error_message(b'{"detail": "nope"}', 422).endswith("nope")
    assert wire.error_message(b"Bad Gateway", 502) == "upstream answered 502: Bad Gateway"
    assert wire.error_message(b"", 500) == "upstream answered 500"


def test_finish_reason_normalised() -> None:
    assert wire.finish_reason("stop", False) == "stop"
    assert wire.finish_reason("function_call", False) == "tool_calls"
    assert wire.finish_reason("stop", True) == "tool_calls"  # Ollama after a tool call
    assert wire.finish_reason("length", True) == "length"
    assert wire.finish_reason(None, False) == "stop"
    assert wire.finish_reason("eos", False) == "stop"


def test_completion_with_dict_arguments_and_parts() -> None:
    body = (
        b'{"choices": [{"message": {"content": [{"type": "text", "text": "hi"}], "tool_calls":'
        b' [{"function": {"name": "f", "arguments": {"a": 1}}}]}, "finish_reason": "stop"}]}'
    )
    result = wire.parse_completion(body, [Message("user", "x")])
    assert result.content == "hi"
    assert result.tool_calls[0].arguments == '{"a":1}'
    assert result.tool_calls[0].id.startswith("call_")
    assert result.finish_reason == "tool_calls"
    assert result.usage.prompt_tokens > 0  # estimated: no usage in the body


@pytest.mark.parametrize("body", [b"[]", b'{"choices": []}', b"{", b'{"choices": [1]}'])
def test_unreadable_completion(body: bytes) -> None:
    with pytest.raises(wire.UnreadableResponse):
        wire.parse_completion(body, [])


def test_stream_reader_gloo_style_end_and_error_events() -> None:
    reader = StreamReader("m")
    delta = reader.handle(b'{"choices":[{"delta":{"content":"Grace"},"finish_reason":"stop"}]}')
    assert delta is not None and delta.content == "Grace"
    final = reader.final([Message("user", "hi")])
    assert final.finish_reason == "stop" and final.usage is not None

    failing = StreamReader("m")
    error = b'{"choices":[{"index":0,"delta":{},"finish_reason":"error"}],"error":{"message":"x"}}'
    with pytest.raises(ProviderStreamBroken):
        failing.handle(error)
    with pytest.raises(ProviderStreamBroken):
        StreamReader("m").handle(b'{"choices":[{"delta":{},"finish_reason":"error"}]}')
    with pytest.raises(ProviderStreamBroken):
        StreamReader("m").handle(b"[1, 2]")


def test_stream_reader_ignores_events_after_done() -> None:
    reader = StreamReader("m")
    reader.handle(b'{"choices":[{"delta":{},"finish_reason":"length"}]}')
    assert reader.handle(b"[DONE]") is None
    assert reader.handle(b"not json at all") is None
    assert reader.final([]).finish_reason == "length"


def test_token_estimate() -> None:
    assert estimate_tokens(None) == 0
    assert estimate_tokens("") == 0
    assert estimate_tokens("hi") == 1
    assert estimate_tokens("one two three four") == 5  # 18 characters / 4, rounded up
    assert estimate_tokens("1 2 3 4 5 6 7 8") == 8  # the floor by words
    assert estimate_tokens("x" * 400) == 100
    assert estimate_tokens("平安与恩典") >= 4  # CJK: about a token per character
