"""Rendering conversations and tools for the local model (no model needed)."""

from __future__ import annotations

import json

import pytest

from emmaus.engine.providers.local.prompt import (
    CHATML_TEMPLATE,
    PromptRenderer,
    plain_turns,
    tool_call_text,
)
from emmaus.engine.types import Message, ToolCall, ToolSpec

pytest.importorskip("llama_cpp")

WEATHER = ToolSpec(
    "get_weather",
    "Current weather",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def test_plain_conversation_keeps_roles() -> None:
    turns = plain_turns([Message("system", "Be kind."), Message("user", "Hi")], [])
    assert turns == [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}]


def test_tools_go_into_the_system_turn() -> None:
    with_system = plain_turns([Message("system", "Be kind."), Message("user", "Hi")], [WEATHER])
    assert with_system[0]["role"] == "system"
    assert with_system[0]["content"].startswith("Be kind.\n\n# Tools")
    assert '"name": "get_weather"' in with_system[0]["content"]
    without = plain_turns([Message("user", "Hi")], [WEATHER])
    assert [t["role"] for t in without] == ["system", "user"]
    assert "<tools>" in without[0]["content"]


def test_tool_calls_and_results_are_rendered_as_text() -> None:
    history = [
        Message("user", "Weather in Paris and Rome?"),
        Message(
            "assistant",
            None,
            tool_calls=[
                ToolCall("call_1", "get_weather", '{"city": "Paris"}'),
                ToolCall("call_2", "get_weather", '{"city": "Rome"}'),
            ],
        ),
        Message("tool", "sunny", tool_call_id="call_1"),
        Message("tool", "rainy", tool_call_id="call_2"),
    ]
    turns = plain_turns(history, [])
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assistant = turns[1]["content"]
    assert assistant.count("<tool_call>") == 2
    first = assistant.split("<tool_call>\n")[1].split("\n</tool_call>")[0]
    assert json.loads(first) == {"name": "get_weather", "arguments": {"city": "Paris"}}
    assert turns[2]["content"] == (
        "<tool_response>\nsunny\n</tool_response>\n<tool_response>\nrainy\n</tool_response>"
    )


def test_unparsable_arguments_are_kept_verbatim() -> None:
    assert json.loads(tool_call_text("f", "not json")) == {"name": "f", "arguments": "not json"}


def test_chatml_rendering_ends_with_the_assistant_header() -> None:
    renderer = PromptRenderer(CHATML_TEMPLATE, bos_token="", eos_token="<|im_end|>")
    prompt = renderer.render([Message("user", "Hi")], [])
    assert prompt == "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
