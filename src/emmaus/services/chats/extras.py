"""Follow-up suggestions (and, on a chat's first exchange, its title) from one small
grammar-constrained completion through the engine: `response_format` with a JSON schema, which
the embedded model enforces with a grammar and OpenAI-compatible servers with structured output.
Runs beside the answer, so it adds no latency to the turn."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from emmaus.engine.router import RoutingRequest
from emmaus.engine.types import GenerationParams, Message, ResponseFormat
from emmaus.errors import EmmausError, NoModelAvailable
from emmaus.services.completions import CompletionRequest, CompletionService

log = logging.getLogger(__name__)

SUGGESTION_COUNT = 3
MAX_SUGGESTION_CHARS = 90
MAX_TITLE_CHARS = 60
_CONTEXT_CHARS = 600  # of each recent turn shown to the suggester
_LIST_MARK = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s*")
_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TITLE = re.compile(r'"title"\s*:\s*"((?:[^"\\]|\\.)*)"')


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


def title_from_query(query: str) -> str:
    """A plain title when the model gives none: the question's first words."""
    words = " ".join(query.split()).split(" ")
    title = " ".join(words[:8]).rstrip("?.!,;:")
    if len(words) > 8:
        title += "…"
    title = title[:MAX_TITLE_CHARS]
    return title[:1].upper() + title[1:] if title else "New chat"


async def generate_extras(
    completions: CompletionService,
    query: str,
    recent: Sequence[Message],
    *,
    want_suggestions: bool,
    want_title: bool,
    max_tokens: int,
) -> Extras:
    """Never raises for a model failure: no suggestions (and no title) is a fine answer."""
    if not want_suggestions and not want_title:
        return Extras([])
    schema = extras_schema(want_title)
    params = GenerationParams(
        max_tokens=max_tokens,
        temperature=0.7,
        # Reproducible: the same conversation gets the same follow-ups (a small model sometimes
        # writes none usable; a fixed seed makes that a property of the question, not of luck).
        seed=7,
        response_format=ResponseFormat(type="json_schema", json_schema=schema, name="follow_ups"),
    )
    messages = extras_prompt(query, recent, want_title)
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
        return Extras([])
    extras = parse_extras(completion.content, want_title)
    asked = query.strip().lower()
    extras.suggestions = [s for s in extras.suggestions if s.lower() != asked]
    if not want_suggestions:
        extras.suggestions = []
    return extras
