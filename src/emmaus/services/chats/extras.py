"""Follow-up suggestions (and, on a chat's first exchange, its title) from a small
grammar-constrained completion through the engine: `response_format` with a JSON schema, which
the embedded model enforces with a grammar and OpenAI-compatible servers with structured output.
What comes back is checked (`extras_checks`); what fails is asked for once more under a strict
grammar, and what still fails gives way to suggestions from the sources' titles (or none) and a
title from the question. Runs beside the answer, so it adds no latency to the turn."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from emmaus.engine.router import RoutingRequest
from emmaus.engine.types import GenerationParams, Message, ResponseFormat
from emmaus.errors import EmmausError, NoModelAvailable
from emmaus.services.chats import extras_checks as checks
from emmaus.services.chats.extras_checks import title_from_query
from emmaus.services.completions import CompletionRequest, CompletionService

__all__ = ["Extras", "generate_extras", "parse_extras", "title_from_query"]

log = logging.getLogger(__name__)

SUGGESTION_COUNT = 3
MAX_SUGGESTION_CHARS = 90
MAX_TITLE_CHARS = 60
_CONTEXT_CHARS = 600  # of each recent turn shown to the suggester
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TITLE = re.compile(r'"title"\s*:\s*"((?:[^"\\]|\\.)*)"')
_ENOUGH = 2  # usable suggestions that need no second ask
# The strict grammar's words: letters only, at most 12 (a small model's garble is long words,
# digits and punctuation runs), so a suggestion is an opener, 3-13 words and one "?".
_STRICT_WORD = "[a-zA-Z][a-z]{0,11}"
_STRICT_QUESTION = (
    "(What|How|Why|Who|When|Where|Which|Is|Are|Do|Does|Did|Can|Could|Should|Would) "
    f"{_STRICT_WORD}( {_STRICT_WORD}){{2,12}}[?]"
)
_STRICT_TITLE = "[A-Z][a-z]{1,11}( [a-zA-Z][a-z]{0,11}){1,5}"


@dataclass(slots=True)
class Extras:
    suggestions: list[str]
    title: str | None = None


def extras_schema(with_title: bool) -> dict[str, object]:
    properties: dict[str, object] = {
        "suggestions": {
            "type": "array",
            # maxLength matters: a small model otherwise rambles inside one string until
            # max_tokens runs out, and nothing parses.
            "items": {"type": "string", "maxLength": MAX_SUGGESTION_CHARS},
            "minItems": SUGGESTION_COUNT,
            "maxItems": SUGGESTION_COUNT,
        }
    }
    if with_title:
        properties["title"] = {"type": "string", "maxLength": MAX_TITLE_CHARS}
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def extras_prompt(query: str, recent: Sequence[Message], with_title: bool) -> list[Message]:
    lines = []
    for message in recent[-4:]:
        if message.role in ("user", "assistant") and message.content:
            who = "User" if message.role == "user" else "Assistant"
            lines.append(f"{who}: {message.content[:_CONTEXT_CHARS]}")
    conversation = "\n".join(lines) or "(new conversation)"
    task = (
        f"Write {SUGGESTION_COUNT} short follow-up questions (under 12 words each) that the user "
        "might ask next, in the user's own voice."
    )
    if with_title:
        task += " Also write a title of at most 6 words for this conversation."
    return [
        Message(role="system", content="You help continue a conversation. Reply with JSON only."),
        Message(
            role="user",
            content=f"Conversation so far:\n{conversation}\n\nNew question: {query}\n\n{task}",
        ),
    ]


def _clean(text: str, limit: int) -> str:
    text = _LIST_MARK.sub("", " ".join(str(text).split())).strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    return text[:limit].rstrip()


def parse_extras(content: str | None, with_title: bool) -> Extras:
    """The JSON the schema asks for; failing that, question-like lines of free text."""
    suggestions: list[str] = []
    title = None
    raw = (content or "").strip()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if data is None and raw.startswith("{"):
        data = _salvage(raw)  # cut off by max_tokens: keep the strings that were finished
    if isinstance(data, dict):
        items = data.get("suggestions")
        if isinstance(items, list):
            suggestions = [_clean(s, MAX_SUGGESTION_CHARS) for s in items if isinstance(s, str)]
        if with_title and isinstance(data.get("title"), str):
            title = _clean(data["title"], MAX_TITLE_CHARS) or None
    else:
        suggestions = [_clean(line, MAX_SUGGESTION_CHARS) for line in raw.splitlines()]
        suggestions = [s for s in suggestions if s.endswith("?")]
    unique: list[str] = []
    for suggestion in suggestions:
        if suggestion and suggestion.lower() not in {u.lower() for u in unique}:
            unique.append(suggestion)
    return Extras(unique[:SUGGESTION_COUNT], title)


def _salvage(raw: str) -> dict[str, object]:
    def text(escaped: str) -> str | None:
        try:
            value = orjson.loads(f'"{escaped}"')
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, str) else None

    found: dict[str, object] = {}
    title = _TITLE.search(raw)
    if title:
        found["title"] = text(title.group(1))
    listed = raw.partition('"suggestions"')[2].partition("[")[2].partition("]")[0]
    found["suggestions"] = [text(m.group(1)) for m in _STRING.finditer(listed)]
    return found


def strict_schema(suggestions: int, with_title: bool) -> dict[str, object]:
    """The second ask: a grammar in which only question-shaped suggestions of plain words and a
    2-6 word title can be written (the embedded model compiles the patterns into its GBNF
    grammar; OpenAI-compatible servers with structured output enforce them as they can)."""
    properties: dict[str, object] = {}
    if suggestions:
        properties["suggestions"] = {
            "type": "array",
            "items": {"type": "string", "pattern": f"^{_STRICT_QUESTION}$"},
            "minItems": suggestions,
            "maxItems": suggestions,
        }
    if with_title:
        properties["title"] = {"type": "string", "pattern": f"^{_STRICT_TITLE}$"}
    return {
        "type": "object",
        "properties": properties,
        "required": sorted(properties),
        "additionalProperties": False,
    }


def strict_prompt(
    query: str, recent: Sequence[Message], suggestions: int, with_title: bool
) -> list[Message]:
    context = [m for m in recent[-2:] if m.role in ("user", "assistant") and m.content]
    earlier = "".join(
        f"{'User' if m.role == 'user' else 'Assistant'}: {m.content[:_CONTEXT_CHARS]}\n"
        for m in context
    )
    asks = []
    if suggestions:
        asks.append(
            f"Write {suggestions} short follow-up questions that go deeper into this topic, "
            "which the user might ask next. Do not repeat the question the user asked. Each "
            'must be a complete question ending with "?".'
        )
    if with_title:
        asks.append("Give a title of 2 to 6 words naming the topic.")
    return [
        Message(role="system", content="You suggest follow-up questions. Reply with JSON only."),
        Message(role="user", content=f'{earlier}The user asked: "{query}"\n\n{" ".join(asks)}'),
    ]


async def _ask(
    completions: CompletionService,
    messages: list[Message],
    schema: dict[str, object],
    max_tokens: int,
) -> str | None:
    """One suggestions completion; None when the model failed (no retry for that)."""
    params = GenerationParams(
        max_tokens=max_tokens,
        temperature=0.7,
        # Reproducible: the same conversation gets the same follow-ups (a small model sometimes
        # writes none usable; a fixed seed makes that a property of the question, not of luck).
        seed=7,
        response_format=ResponseFormat(type="json_schema", json_schema=schema, name="follow_ups"),
    )
    routing = RoutingRequest(auto_routing=True, needs=frozenset({"json"}))
    try:
        try:
            decision = completions.decide(CompletionRequest(messages, routing, params))
        except NoModelAvailable:  # no model promises JSON: ask anyway, parse what comes
            routing = RoutingRequest(auto_routing=True)
            params.response_format = None
            decision = completions.decide(CompletionRequest(messages, routing, params))
        # Their input (the question) was judged with the turn; what they write is screened.
        request = CompletionRequest(messages, routing, params, screening="output")
        _, completion = await completions.complete(request, decision)
    except EmmausError as exc:
        log.info("follow-up suggestions failed: %s", exc.message)
        return None
    return completion.content


async def generate_extras(
    completions: CompletionService,
    query: str,
    recent: Sequence[Message],
    *,
    want_suggestions: bool,
    want_title: bool,
    max_tokens: int,
    sources: Sequence[dict[str, Any]] = (),
) -> Extras:
    """Suggestions and a title that pass `extras_checks`: the model is asked once, then once
    more under the strict grammar for what was missing; suggestions still missing come from
    the sources' titles, or are none. A title still missing is None (the turn then takes one
    from the question). Never raises for a model failure."""
    if not want_suggestions and not want_title:
        return Extras([])
    topic = checks.topic_words(query, (m.content or "" for m in recent), sources)
    suggestions: list[str] = []
    title: str | None = None
    first = await _ask(
        completions, extras_prompt(query, recent, want_title), extras_schema(want_title), max_tokens
    )
    if first is not None:
        parsed = parse_extras(first, want_title)
        suggestions = checks.usable_suggestions(parsed.suggestions, query, topic)
        title = checks.usable_title(parsed.title, query) if want_title else None
        missing = SUGGESTION_COUNT - len(suggestions) if want_suggestions else 0
        missing = missing if missing > SUGGESTION_COUNT - _ENOUGH else 0
        title_missing = want_title and title is None
        if missing or title_missing:
            log.debug("follow-ups unusable (%d missing, title %s): asking again", missing, title)
            again = await _ask(
                completions,
                strict_prompt(query, recent, missing, title_missing),
                strict_schema(missing, title_missing),
                max_tokens,
            )
            if again is not None:
                parsed = parse_extras(again, title_missing)
                suggestions += checks.usable_suggestions(
                    parsed.suggestions, query, topic, suggestions
                )
                if title_missing:
                    title = checks.usable_title(parsed.title, query)
    if not want_suggestions:
        return Extras([], title)
    if len(suggestions) < _ENOUGH:
        wanted = SUGGESTION_COUNT - len(suggestions)
        suggestions += checks.source_suggestions(sources, query, suggestions, wanted)
    return Extras(suggestions[:SUGGESTION_COUNT], title)
