"""GBNF grammars that make the embedded model's structured output parse by construction:
JSON answers (`response_format`), tool names and tool arguments."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from emmaus.errors import InvalidRequest

if TYPE_CHECKING:
    from llama_cpp import LlamaGrammar

# llama.cpp's schema converter lets strings hold raw control characters (a newline, a tab),
# which strict JSON forbids: exclude them as its own JSON_GBNF does.
_LOOSE_CHAR = 'char ::= [^"\\\\] |'
_STRICT_CHAR = 'char ::= [^"\\\\\\x7F\\x00-\\x1F] |'


def _grammar(gbnf: str) -> LlamaGrammar:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(gbnf, verbose=False)


@lru_cache(maxsize=1)
def json_object_grammar() -> LlamaGrammar:
    """Any JSON object (`response_format: {"type": "json_object"}`)."""
    from llama_cpp.llama_grammar import JSON_GBNF

    return _grammar(JSON_GBNF)


@lru_cache(maxsize=256)
def _schema_gbnf(schema_text: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return json_schema_to_gbnf(schema_text).replace(_LOOSE_CHAR, _STRICT_CHAR)


def json_schema_grammar(schema: dict[str, Any], *, what: str) -> LlamaGrammar:
    """Output valid against `schema`. `what` names the schema's owner in error messages."""
    try:
        gbnf = _schema_gbnf(json.dumps(schema, sort_keys=False))
    except Exception as exc:  # the converter raises AssertionError, KeyError, ValueError...
        message = f"{what}: JSON schema not supported by the local model: {exc}"
        raise InvalidRequest(message) from exc
    return _grammar(gbnf)


def tool_arguments_grammar(parameters: dict[str, Any], *, tool: str) -> LlamaGrammar:
    """A tool's arguments: always a JSON object, valid against the tool's schema."""
    schema = dict(parameters) if parameters else {}
    schema.setdefault("type", "object")
    return json_schema_grammar(schema, what=f"tool {tool!r} parameters")


def _literal(text: str) -> str:
    # JSON string escapes are valid GBNF literal escapes.
    return json.dumps(text, ensure_ascii=False)


def choice_grammar(options: list[str], *, suffix: str = "") -> LlamaGrammar:
    """Exactly one of `options`, then `suffix`."""
    alternatives = " | ".join(_literal(option) for option in options)
    tail = f" {_literal(suffix)}" if suffix else ""
    return _grammar(f"root ::= ({alternatives}){tail}\n")
