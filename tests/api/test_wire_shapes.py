"""Every response is built twice: as a pydantic model (the OpenAPI document) and as a plain dict
(the hot path). This is the one place that holds them together: each hand-built body must
validate against its model, carry no undocumented key and every required one, so the
documentation and the wire cannot drift apart."""

from __future__ import annotations

import types
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin

import orjson
import pytest
from pydantic import BaseModel

from emmaus.api.chats import protocol as v1
from emmaus.api.completions.chunks import completion_body, routing_fields
from emmaus.api.completions.protocol import ChatCompletion, RoutingFields
from emmaus.api.grounded.protocol import CitationOut
from emmaus.api.library.protocol import DocumentOut
from emmaus.conversations.schema import COMPLETE
from emmaus.conversations.types import Chat, StoredMessage
from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import Completion, ToolCall, Usage
from emmaus.grounding.citations import Citation
from emmaus.grounding.models import Document
from emmaus.services.chats.types import TurnResult
from emmaus.services.completions import Served
from tests.support.upstream import openai_spec

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation may hold (`X | None`, `list[X]`, `X | dict`...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if get_origin(annotation) in (Union, types.UnionType, list):
        return [m for arg in get_args(annotation) for m in _models_in(arg)]
    return []


def assert_shape(model: type[BaseModel], body: Any, where: str = "body") -> None:
    model.model_validate(body)
    assert _fits(model, body), f"{where}: fields differ from {model.__name__}"
    for name, field in model.model_fields.items():
        nested = _models_in(field.annotation)
        if not nested or body.get(name) is None:
            continue
        values = body[name] if isinstance(body[name], list) else [body[name]]
        for number, value in enumerate(values):
            if not isinstance(value, dict):
                continue
            # A union of models (v1 history turns): the one whose fields match.
            fitting = [m for m in nested if _fits(m, value)]
            assert fitting, f"{where}.{name}[{number}] matches none of {nested}"
            assert_shape(fitting[0], value, f"{where}.{name}[{number}]")


def _fits(model: type[BaseModel], body: dict[str, Any]) -> bool:
    """Every key documented, every required field present (optional ones may be left out, as
    OpenAI leaves out `tool_calls` when there are none)."""
    fields = model.model_fields
    required = {name for name, field in fields.items() if field.is_required()}
    return required <= set(body) <= set(fields)


def served() -> Served:
    spec = openai_spec("http://127.0.0.1:9/v1", "m", id="m", tier=2, family="openai")
    decision = RoutingDecision("auto_routing", 2, 0.8, "tier_2: test", (spec,))
    return Served(decision, spec)


@pytest.mark.parametrize(
    "completion",
    [
        Completion("Grace is a gift.", [], "stop", Usage(5, 4)),
        Completion(None, [ToolCall("call_1", "lookup", '{"q": "x"}')], "tool_calls", Usage(5, 4)),
    ],
)
def test_v2_completion_body(completion: Completion) -> None:
    body = orjson.loads(completion_body(served(), "catholic", completion))
    assert_shape(ChatCompletion, body)


def test_routing_fields_are_the_schema() -> None:
    assert_shape(RoutingFields, routing_fields(served(), None))


def result() -> TurnResult:
    source = {"item_id": "1", "item_title": "John 3", "publisher": "KJV", "url": None,
              "snippet": "For God so loved", "score": 0.9}  # fmt: skip
    return TurnResult(
        chat_id="c1", query_id="q1", message_id="m1", timestamp=NOW, success=True,
        message="Hello", model="m", sources=[source], sources_limit=3,
        suggestions=["Why?"], intent=1, status=COMPLETE, user_message_id="m0",
    )  # fmt: skip


def test_v1_message_and_kallm_responses() -> None:
    assert_shape(v1.MessageResponse, v1.message_response(result()))
    assert_shape(v1.KallmResponse, v1.kallm_response(result()))


def chat() -> Chat:
    return Chat(
        id="c1", client_id="emc_x", user_id="u1", title="Grace", summary=None, pin=True,
        tradition="mainline", head_message_id="m2", last_seq=2, branched=False,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def message(role: str, seq: int) -> StoredMessage:
    return StoredMessage(
        id=f"m{seq}", chat_id="c1", seq=seq, parent_id=None, query_id="q1", role=role,
        content="text", token_count=1, status=COMPLETE, created_at=NOW, updated_at=NOW,
        model="m" if role == "assistant" else None,
        meta={"character_limit": 100, "publishers": ["KJV"]} if role == "user" else None,
        sources=[] if role == "assistant" else None,
    )  # fmt: skip


def test_v1_history_and_chat_list() -> None:
    history = v1.chat_history(chat(), [message("user", 1), message("assistant", 2)])
    assert [turn["role"] for turn in history["messages"]] == ["user", "kallm"]
    assert_shape(v1.ChatHistory, history)
    assert_shape(v1.ChatListItem, v1.chat_list_item(chat()))


def test_grounded_citation_and_library_document() -> None:
    citation = Citation(1, 7, "KJV", "John 3", "https://example.org/j3", ["For God"], [70], 0.5)
    item = citation.to_dict()
    item["cited"] = True  # what a whole (non-streamed) answer adds
    assert_shape(CitationOut, item)
    document = Document(7, "KJV", "john3.md", "John 3", None, "markdown", "ab", 10, 1, NOW, NOW)
    assert_shape(DocumentOut, document.to_dict())
