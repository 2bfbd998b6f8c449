"""Every request the SDK sends, built once for the sync and the async client: path, body,
query and whether a retry may repeat it harmlessly (`idempotent`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from emmaus_client._transport import Call

Messages = Sequence[dict[str, Any]]

V2 = "/ai/v2"
V1 = "/ai/v1"


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def routing(
    model: str | None, auto_routing: bool | None, model_family: str | None
) -> dict[str, Any]:
    """Exactly one routing mechanism (the contract's rule): auto-routing when none is named."""
    if model is None and model_family is None and auto_routing is None:
        auto_routing = True
    return _clean({"model": model, "auto_routing": auto_routing, "model_family": model_family})


def completion(
    messages: Messages,
    *,
    model: str | None,
    auto_routing: bool | None,
    model_family: str | None,
    stream: bool,
    options: dict[str, Any],
) -> Call:
    body = {"messages": list(messages), **routing(model, auto_routing, model_family)}
    body.update(_clean(options))
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    # A completion stores nothing: a retry costs tokens at worst, never a duplicate.
    return Call("POST", f"{V2}/chat/completions", json=body)


def grounded(
    messages: Messages | None,
    *,
    model: str | None,
    auto_routing: bool | None,
    model_family: str | None,
    stream: bool,
    options: dict[str, Any],
) -> Call:
    body: dict[str, Any] = routing(model, auto_routing, model_family)
    if messages is not None:
        body["messages"] = list(messages)
    body.update(_clean(options))
    if stream:
        body["stream"] = True
        body.setdefault("stream_options", {"include_usage": True})
    return Call("POST", f"{V2}/chat/completions/grounded", json=body)


def v1_send(
    query: str, *, stream: bool, idempotency_key: str | None, options: dict[str, Any]
) -> Call:
    """One logical v1 send: its Idempotency-Key is made here once and reused by every retry,
    so the server stores the turn once however many tries it takes."""
    body = {"query": query, **_clean(options)}
    if stream:
        body["stream"] = True
    key = idempotency_key or uuid.uuid4().hex
    return Call("POST", f"{V1}/message", json=body, headers={"Idempotency-Key": key})


def v1_get(chat_id: str, tree: bool) -> Call:
    return Call("GET", f"{V1}/chat", params={"chat_id": chat_id, "tree": "true" if tree else None})


def v1_list(limit: int, cursor: str | None) -> Call:
    return Call("GET", f"{V1}/chats", params={"limit": limit, "cursor": cursor})


def v1_update(chat_id: str, field: str, value: Any) -> Call:
    params = {"chat_id": chat_id, "chat_field": field}
    return Call("PATCH", f"{V1}/chat", params=params, json={"new_value": value})


def v1_create(title: str | None, tradition: str | None) -> Call:
    body = _clean({"title": title, "tradition": tradition})
    return Call("POST", f"{V1}/chat", json=body, idempotent=False)


def v1_delete(chat_id: str) -> Call:
    return Call("DELETE", f"{V1}/chat", params={"chat_id": chat_id})


def v1_delete_message(message_id: str | None, query_id: str | None) -> Call:
    params = {"message_id": message_id, "query_id": query_id}
    return Call("DELETE", f"{V1}/message", params=params)


def v1_stop(message_id: str, chat_id: str | None) -> Call:
    params = {"task": "stop", "message_id": message_id, "chat_id": chat_id}
    return Call("PUT", f"{V1}/message", params=params)


def response_create(input: Any, *, stream: bool, options: dict[str, Any]) -> Call:
    body = {"input": input, **_clean(options)}
    if stream:
        body["stream"] = True
    # A stored response retried after it was processed would be stored twice.
    return Call("POST", f"{V1}/responses", json=body, idempotent=body.get("store") is False)


def response_get(response_id: str) -> Call:
    return Call("GET", f"{V1}/responses/{response_id}")


def response_delete(response_id: str) -> Call:
    return Call("DELETE", f"{V1}/responses/{response_id}")


def response_input_items(response_id: str, limit: int, order: str) -> Call:
    params = {"limit": limit, "order": order}
    return Call("GET", f"{V1}/responses/{response_id}/input_items", params=params)


def response_cancel(response_id: str) -> Call:
    return Call("POST", f"{V1}/responses/{response_id}/cancel")


def conversation_create(metadata: dict[str, str] | None, items: list[Any] | None) -> Call:
    body = _clean({"metadata": metadata, "items": items})
    return Call("POST", f"{V1}/conversations", json=body, idempotent=False)


def conversation_get(conversation_id: str) -> Call:
    return Call("GET", f"{V1}/conversations/{conversation_id}")


def conversation_update(conversation_id: str, metadata: dict[str, str]) -> Call:
    body = {"metadata": metadata}
    return Call("POST", f"{V1}/conversations/{conversation_id}", json=body)


def conversation_delete(conversation_id: str) -> Call:
    return Call("DELETE", f"{V1}/conversations/{conversation_id}")


def conversation_items(conversation_id: str, limit: int, order: str, after: str | None) -> Call:
    params = {"limit": limit, "order": order, "after": after}
    return Call("GET", f"{V1}/conversations/{conversation_id}/items", params=params)


def conversation_add_items(conversation_id: str, items: list[Any]) -> Call:
    body = {"items": items}
    return Call("POST", f"{V1}/conversations/{conversation_id}/items", json=body, idempotent=False)


def models() -> Call:
    return Call("GET", f"{V2}/models")
