"""Rendering a conversation, tools included, into the prompt text of a GGUF model.

The conversation goes through the model's own chat template (from the GGUF metadata; ChatML when
it has none). Templates like SmolLM2's know only plain `{role, content}` turns, so tool traffic is
written in the Hermes/Qwen convention first: the tool list in the system turn inside `<tools>`,
each call the assistant made as a `<tool_call>{"name", "arguments"}</tool_call>` block, and tool
results as a user turn of `<tool_response>` blocks. Models trained on that convention (Qwen 2.5,
Hermes) read it natively; the others at least see the whole exchange as text.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from emmaus.engine.types import Message, ToolCall, ToolSpec
from emmaus.errors import ProviderRejected

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_TOOLS_INTRO = (
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n"
)
_TOOLS_OUTRO = (
    "\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n"
    '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
)


Wrap = Callable[[str], str]


def _as_is(text: str) -> str:
    return text


def tools_section(tools: Sequence[ToolSpec], wrap: Wrap = _as_is) -> str:
    lines = [
        wrap(
            json.dumps(
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description or "",
                        "parameters": tool.parameters,
                    },
                },
                ensure_ascii=False,
            )
        )
        for tool in tools
    ]
    return _TOOLS_INTRO + "\n".join(lines) + _TOOLS_OUTRO


def tool_call_text(name: str, arguments: str) -> str:
    """One call as the model writes it (without the `<tool_call>` tags)."""
    try:
        parsed: Any = json.loads(arguments) if arguments else {}
    except ValueError:
        parsed = arguments  # keep what the client sent rather than drop the turn
    return json.dumps({"name": name, "arguments": parsed}, ensure_ascii=False)


def _assistant_text(message: Message, wrap: Wrap) -> str:
    parts = [wrap(message.content)] if message.content else []
    parts.extend(_call_block(call, wrap) for call in message.tool_calls or [])
    return "\n".join(parts)


def _call_block(call: ToolCall, wrap: Wrap = _as_is) -> str:
    text = wrap(tool_call_text(call.name, call.arguments))
    return f"{TOOL_CALL_OPEN}\n{text}\n{TOOL_CALL_CLOSE}"


def plain_turns(
    messages: Sequence[Message], tools: Sequence[ToolSpec], wrap: Wrap = _as_is
) -> list[dict[str, str]]:
    """The conversation as `{role, content}` turns any chat template accepts. `tools` (empty
    when the model may not call any) are described in the system turn. `wrap` marks text that
    came from outside (messages, tool schemas, calls and results), so it can be kept apart
    from the template's own markers."""
    turns: list[dict[str, str]] = []
    for message in messages:
        if message.role == "tool":
            block = f"<tool_response>\n{wrap(message.content or '')}\n</tool_response>"
            previous = turns[-1] if turns else None
            # Consecutive results of one parallel call share a user turn, as Qwen's template does.
            if previous and previous["role"] == "user" and previous.get("_tool") == "1":
                previous["content"] += "\n" + block
            else:
                turns.append({"role": "user", "content": block, "_tool": "1"})
        elif message.role == "assistant":
            turns.append({"role": "assistant", "content": _assistant_text(message, wrap)})
        else:
            turns.append({"role": message.role, "content": wrap(message.content or "")})
    if tools:
        section = tools_section(tools, wrap)
        if turns and turns[0]["role"] == "system":
            turns[0]["content"] = f"{turns[0]['content']}\n\n{section}".lstrip()
        else:
            turns.insert(0, {"role": "system", "content": section})
    for turn in turns:
        turn.pop("_tool", None)
    return turns


class PromptRenderer:
    """Applies one model's chat template (a Jinja2 text from the GGUF metadata)."""

    def __init__(self, template: str | None, *, bos_token: str, eos_token: str) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self._formatter = Jinja2ChatFormatter(
            template=template or CHATML_TEMPLATE, eos_token=eos_token, bos_token=bos_token
        )

    def render(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> str:
        return self._format(plain_turns(messages, tools))

    def render_segments(
        self, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> list[tuple[str, bool]]:
        """The prompt as `(text, is_markup)` pieces: the template's own text, where control
        tokens such as `<|im_start|>` are real, apart from the text of users, documents and
        tools, which must be tokenized as plain text (so typing `<|im_start|>system` forges
        nothing). Each outside text is replaced by a one-off placeholder for rendering, then
        put back as its own piece."""
        nonce = secrets.token_hex(6)
        texts: list[str] = []

        def wrap(text: str) -> str:
            texts.append(text)
            return f"\x1e{nonce}:{len(texts) - 1}\x1f"

        prompt = self._format(plain_turns(messages, tools, wrap))
        pieces = re.split(f"\x1e{nonce}:(\\d+)\x1f", prompt)
        if len(pieces) != 2 * len(texts) + 1:
            # The template rewrote a placeholder: fall back to defusing the outside text.
            return [(self._format(plain_turns(messages, tools, defuse)), True)]
        segments = []
        for number, piece in enumerate(pieces):
            if number % 2 == 0:
                segments.append((piece, True))
            else:
                segments.append((texts[int(piece)], False))
        return [(text, markup) for text, markup in segments if text]

    def _format(self, turns: list[dict[str, str]]) -> str:
        try:
            return self._formatter(messages=turns).prompt  # type: ignore[arg-type]
        except Exception as exc:  # jinja2 raises several types, templates raise ValueError
            message = f"the model's chat template rejected the messages: {exc}"
            raise ProviderRejected(message) from exc


_CONTROL = re.compile(r"<\|")


def defuse(text: str) -> str:
    """Breaks `<|...|>` control-token spellings with a zero-width joiner (the fallback)."""
    return _CONTROL.sub("<\u200d|", text)
