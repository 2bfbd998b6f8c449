"""One request run on a model's worker thread: a text answer, a JSON answer, or tool calls.

Tool calls are grammar-constrained so they always parse:

- Forced (`required`, or a named function): the prompt is continued with `<tool_call>` and the
  call is written in steps: the name (a grammar choice among the candidates, or fixed when there
  is one), then the arguments (a grammar from the tool's JSON schema). Our own scaffolding
  (`{"name": ..., "arguments": `) goes into the prompt, so it costs no sampling steps.
- `auto`: the model answers freely and the tool-call grammar only applies once the model itself
  writes `<tool_call>` (llama.cpp server's "lazy grammar", triggered by the same word, for the
  Hermes/Qwen format the prompt describes). Text before the trigger is the message content. A
  model that never writes the trigger simply answers: SmolLM2-135M almost never does, and a
  forced choice between "answer" and "call" made it call a tool for almost every question.
- After a call, with `parallel_tool_calls` allowed, the model may open another `<tool_call>`.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emmaus.engine.providers.local.grammar import (
    choice_grammar,
    json_object_grammar,
    json_schema_grammar,
    tool_arguments_grammar,
)
from emmaus.engine.providers.local.prompt import TOOL_CALL_CLOSE, TOOL_CALL_OPEN
from emmaus.engine.providers.local.text import MarkerScanner, Utf8Pieces
from emmaus.engine.types import (
    FinishReason,
    FunctionChoice,
    GenerationParams,
    Message,
    StreamDelta,
    ToolCallDelta,
    ToolSpec,
    Usage,
)
from emmaus.errors import InvalidRequest, ProviderRejected

if TYPE_CHECKING:
    from llama_cpp import LlamaGrammar

    from emmaus.engine.providers.local.model import LoadedModel

DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 0.95
TOP_K = 40
MIN_P = 0.05
# Free text only: tiny models loop without it; grammar steps must not be pushed off their path.
TEXT_REPEAT_PENALTY = 1.1
MAX_PARALLEL_CALLS = 8
PEEK_TOKENS = 8  # enough to read "<tool_call>" after a call, with some leading whitespace

Emit = Callable[[StreamDelta], None]


class Cancelled(Exception):
    """The consumer went away: stop quietly."""


@dataclass(slots=True)
class Request:
    messages: Sequence[Message]
    params: GenerationParams
    max_tokens: int  # before the context-window cap


def new_call_id() -> str:
    return f"call_{secrets.token_hex(12)}"


def tool_plan(params: GenerationParams) -> tuple[str, list[ToolSpec], list[ToolSpec]]:
    """(mode, tools shown to the model, tools it may call): mode is text | auto | forced."""
    tools = list(params.tools)
    choice = params.tool_choice if params.tool_choice is not None else "auto"
    if not tools or choice == "none":
        return "text", [], []
    if choice == "auto":
        return "auto", tools, tools
    if choice == "required":
        return "forced", tools, tools
    if isinstance(choice, FunctionChoice):
        named = [tool for tool in tools if tool.name == choice.name]
        if not named:
            raise InvalidRequest(f"tool_choice names {choice.name!r}, which is not among tools")
        return "forced", tools, named[:1]
    raise InvalidRequest(f"unsupported tool_choice {choice!r}")


def _schema_of(json_schema: dict[str, Any]) -> dict[str, Any]:
    # Accept OpenAI's wrapper ({"name", "schema", "strict"}) as well as a bare schema.
    inner = json_schema.get("schema")
    if isinstance(inner, dict) and "type" not in json_schema and "properties" not in json_schema:
        return inner
    return json_schema


def canonical_arguments(text: str) -> str:
    """The grammar guarantees JSON; keep the model's text when it is strict JSON already."""
    try:
        json.loads(text)
        return text
    except ValueError:
        return json.dumps(json.loads(text, strict=False), ensure_ascii=False)


class JsonEnd:
    """Grammar-constrained JSON is complete as soon as it parses: stop there rather than spend
    a token on the optional trailing space the grammar allows before the end of turn."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def __call__(self, piece: bytes) -> bool:
        self._pieces.append(piece)
        if not piece.rstrip().endswith((b"}", b"]", b'"')):
            return False
        try:
            json.loads(b"".join(self._pieces))
        except ValueError:
            return False
        return True


class Generation:
    def __init__(
        self, model: LoadedModel, request: Request, emit: Emit, cancelled: Callable[[], bool]
    ) -> None:
        self._m = model
        self._params = request.params
        self._request = request
        self._emit = emit
        self._cancelled = cancelled
        params = request.params
        temperature = params.temperature
        self._temperature = DEFAULT_TEMPERATURE if temperature is None else temperature
        self._top_p = DEFAULT_TOP_P if params.top_p is None else params.top_p
        self._seed = params.seed if params.seed is not None else secrets.randbits(31)
        self._generated = 0
        self._budget = 0

    def run(self) -> None:
        mode, shown, candidates = tool_plan(self._params)
        segments = self._m.renderer.render_segments(self._request.messages, shown)
        ctx = self._m.tokenize_segments(segments)
        room = self._m.n_ctx - len(ctx)
        if room <= 0:
            raise ProviderRejected(
                f"the prompt is {len(ctx)} tokens; the model's context window is {self._m.n_ctx}"
            )
        self._budget = max(0, min(self._request.max_tokens, room))
        if mode == "forced":
            finish = self._tool_calls(ctx + self._scaffold(TOOL_CALL_OPEN + "\n"), candidates)
        else:
            finish = self._text(ctx, candidates if mode == "auto" else [])
        usage = Usage(prompt_tokens=len(ctx), completion_tokens=self._generated)
        self._emit(StreamDelta(finish_reason=finish, usage=usage))

    # -- text ---------------------------------------------------------------------------------

    def _text(self, ctx: list[int], callable_tools: list[ToolSpec]) -> FinishReason:
        grammar = self._format_grammar()
        markers = list(self._params.stop or [])
        # A JSON answer cannot contain the trigger: with response_format, auto means "answer".
        trigger = bool(callable_tools) and grammar is None
        if trigger:
            markers.append(TOOL_CALL_OPEN)
        scanner = MarkerScanner(markers)
        utf8 = Utf8Pieces()
        content: list[str] = []
        blank: list[str] = []  # leading whitespace, dropped if a tool call follows it

        def release(text: str) -> None:
            if not text:
                return
            if not content and not text.strip():
                blank.append(text)
                return
            text = "".join(blank) + text
            blank.clear()
            content.append(text)
            self._emit(StreamDelta(content=text))

        json_end = JsonEnd() if grammar is not None else None

        def on_piece(piece: bytes) -> bool:
            release(scanner.feed(utf8.feed(piece)))
            if json_end is not None and json_end(piece):
                return True
            return scanner.hit is not None

        _, reason = self._sample(ctx, grammar, on_piece=on_piece, repeat=grammar is None)
        if scanner.hit == TOOL_CALL_OPEN:
            before = self._m.tokenize("".join(content), special=False)
            call_ctx = ctx + before + self._scaffold(TOOL_CALL_OPEN + "\n")
            return self._tool_calls(call_ctx, callable_tools)
        if scanner.hit is not None:
            return "stop"
        release(scanner.feed(utf8.flush()) + scanner.flush())
        if blank:  # an answer of whitespace only is still the answer
            self._emit(StreamDelta(content="".join(blank)))
        # "hook" here means the JSON answer is complete.
        return "length" if reason == "length" and scanner.hit is None else "stop"

    def _format_grammar(self) -> LlamaGrammar | None:
        fmt = self._params.response_format
        if fmt is None or fmt.type == "text":
            return None
        if fmt.type == "json_object" or not fmt.json_schema:
            return json_object_grammar()
        return json_schema_grammar(_schema_of(fmt.json_schema), what="response_format")

    # -- tool calls ---------------------------------------------------------------------------

    def _tool_calls(self, ctx: list[int], candidates: list[ToolSpec]) -> FinishReason:
        """Writes calls after an opened `<tool_call>`. An incomplete call is never emitted."""
        by_name = {tool.name: tool for tool in candidates}
        # A named function is called once, as OpenAI does; otherwise parallel calls are allowed
        # unless the request turned them off.
        named = isinstance(self._params.tool_choice, FunctionChoice)
        parallel = self._params.parallel_tool_calls is not False and not named
        index = 0
        while True:
            if len(candidates) == 1:
                tool = candidates[0]
                ctx = ctx + self._scaffold(f'{{"name": {json.dumps(tool.name)}, "arguments": ')
            else:
                ctx = ctx + self._scaffold('{"name": "')
                names = list(by_name)
                tokens, reason = self._sample(ctx, choice_grammar(names, suffix='"'))
                if reason != "stop":
                    return "length"
                tool = by_name[self._decode(tokens)[:-1]]
                ctx = ctx + tokens + self._scaffold(', "arguments": ')
            grammar = tool_arguments_grammar(tool.parameters, tool=tool.name)
            tokens, reason = self._sample(ctx, grammar, on_piece=JsonEnd())
            if reason == "length":
                return "length"
            arguments = canonical_arguments(self._decode(tokens).strip())
            call = ToolCallDelta(index=index, id=new_call_id(), name=tool.name, arguments=arguments)
            self._emit(StreamDelta(tool_calls=[call]))
            index += 1
            ctx = ctx + tokens + self._scaffold("}\n" + TOOL_CALL_CLOSE)
            if not parallel or index >= MAX_PARALLEL_CALLS or not self._wants_another(ctx):
                return "tool_calls"
            ctx = ctx + self._scaffold("\n" + TOOL_CALL_OPEN + "\n")

    def _wants_another(self, ctx: list[int]) -> bool:
        """Lets the model continue freely for a few tokens: does it open another call?"""
        seen: list[bytes] = []
        opened = False

        def on_piece(piece: bytes) -> bool:
            nonlocal opened
            seen.append(piece)
            text = b"".join(seen).decode("utf-8", errors="ignore").lstrip()
            opened = text.startswith(TOOL_CALL_OPEN)
            return opened or not TOOL_CALL_OPEN.startswith(text)

        self._sample(ctx, None, on_piece=on_piece, limit=PEEK_TOKENS)
        return opened

    # -- sampling -----------------------------------------------------------------------------

    def _scaffold(self, text: str) -> list[int]:
        return self._m.tokenize(text, special=True)

    def _decode(self, tokens: list[int]) -> str:
        return b"".join(self._m.piece(token) for token in tokens).decode("utf-8", errors="replace")

    def _sample(
        self,
        ctx: list[int],
        grammar: LlamaGrammar | None,
        *,
        on_piece: Callable[[bytes], bool] | None = None,
        repeat: bool = False,
        limit: int | None = None,
    ) -> tuple[list[int], str]:
        """Samples after `ctx` until the model ends its turn ("stop"), the budget or context
        runs out ("length"), or `on_piece` asks to stop ("hook"). Checks for cancellation
        between tokens."""
        remaining = min(self._budget - self._generated, self._m.n_ctx - len(ctx))
        if limit is not None:
            remaining = min(remaining, limit)
        if remaining <= 0:
            return [], "length"
        if grammar is not None:
            self._m.check_grammar(grammar)
        llama = self._m.llama
        llama.set_seed(self._seed)
        generator = llama.generate(
            ctx,
            top_k=TOP_K,
            top_p=self._top_p,
            min_p=MIN_P,
            temp=self._temperature,
            repeat_penalty=TEXT_REPEAT_PENALTY if repeat else 1.0,
            grammar=grammar,
        )
        out: list[int] = []
        reason = "length"
        try:
            for token in generator:
                if self._cancelled():
                    raise Cancelled
                if self._m.ends_turn(token):
                    reason = "stop"
                    break
                out.append(token)
                self._generated += 1
                if on_piece is not None and on_piece(self._m.piece(token)):
                    reason = "hook"
                    break
                if len(out) >= remaining:
                    break
        finally:
            generator.close()
        return out, reason
