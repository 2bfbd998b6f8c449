"""Stored rows as Responses and Conversations objects. The id mapping (docs/responses.md):

- a conversation id is the chat id (`c…`), the same a v1 client sends as `chat_id`;
- a message item id is the message id (`m…`); a function call of a reply is `fc_<message id>_<n>`;
- a response id is `resp_` + the id of the reply row that answers it (v1 replies included)."""

from __future__ import annotations

from typing import Any

from emmaus.catalog import Catalog
from emmaus.conversations.schema import COMPLETE, FAILED, PENDING
from emmaus.conversations.types import StoredMessage
from emmaus.errors import ItemNotFound, ResponseNotFound
from emmaus.services.responses.types import ResponseRecord

RESPONSE_PREFIX = "resp_"
CALL_PREFIX = "fc_"


def response_id(reply_id: str) -> str:
    return RESPONSE_PREFIX + reply_id


def reply_id_of(response: str) -> str:
    if not response.startswith(RESPONSE_PREFIX) or len(response) > 200:
        raise ResponseNotFound(f"response {response!r} not found")
    return response[len(RESPONSE_PREFIX) :]


def call_item_id(message_id: str, index: int) -> str:
    return f"{CALL_PREFIX}{message_id}_{index}"


def message_id_of(item_id: str) -> tuple[str, int | None]:
    """The message behind an item id, and which of its function calls (None: the message)."""
    if item_id.startswith(CALL_PREFIX):
        message_id, _, index = item_id[len(CALL_PREFIX) :].rpartition("_")
        if not message_id or not index.isdigit():
            raise ItemNotFound(f"item {item_id!r} not found")
        return message_id, int(index)
    return item_id, None


def _timestamp(message: StoredMessage) -> int:
    return int(message.created_at.timestamp())


# -- items -------------------------------------------------------------------------------------


def _text_part(text: str, *, output: bool) -> dict[str, Any]:
    if output:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"type": "input_text", "text": text}


def message_item(message: StoredMessage, *, status: str = "completed") -> dict[str, Any]:
    output = message.role == "assistant"
    content = [_text_part(message.content, output=output)] if message.content else []
    return {
        "id": message.id,
        "type": "message",
        "role": message.role,
        "status": status,
        "content": content,
    }


def call_items(message: StoredMessage, status: str = "completed") -> list[dict[str, Any]]:
    return [
        {
            "id": call_item_id(message.id, index),
            "type": "function_call",
            "call_id": call["id"],
            "name": call["name"],
            "arguments": call.get("arguments", "{}"),
            "status": status,
        }
        for index, call in enumerate(message.tool_calls or ())
    ]


def items_of(message: StoredMessage) -> list[dict[str, Any]]:
    """One stored message as the items it stands for (a reply with tool calls is several)."""
    if message.role == "tool":
        return [
            {
                "id": message.id,
                "type": "function_call_output",
                "call_id": message.tool_call_id,
                "output": message.content,
                "status": "completed",
            }
        ]
    if message.role != "assistant":
        return [message_item(message)]
    if message.status == PENDING:
        return [message_item(message, status="in_progress")]
    if message.status == FAILED and not message.content:
        return []  # a reply that never said anything is no item
    status = "completed" if message.status == COMPLETE else "incomplete"
    items = [message_item(message, status=status)] if message.content else []
    return items + call_items(message)


def item_list(
    items: list[dict[str, Any]], *, after: str | None, limit: int, order: str
) -> dict[str, Any]:
    """OpenAI's list object over `items` (oldest first), paged after the item id `after`."""
    ordered = items if order == "asc" else items[::-1]
    if after is not None:
        ids = [item["id"] for item in ordered]
        if after not in ids:
            raise ItemNotFound(f"item {after!r} (after) not found")
        ordered = ordered[ids.index(after) + 1 :]
    page = ordered[:limit]
    return {
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }


def flatten(messages: list[StoredMessage]) -> list[dict[str, Any]]:
    return [item for message in messages for item in items_of(message)]


# -- responses ---------------------------------------------------------------------------------


def status_of(reply: StoredMessage) -> tuple[str, dict[str, str] | None]:
    """The response status, and `incomplete_details` when it is incomplete."""
    meta = reply.meta or {}
    if reply.status == PENDING:
        return "in_progress", None
    if meta.get("cancelled"):
        return "cancelled", None
    if reply.status != COMPLETE:
        return "failed", None
    if reply.finish_reason == "length":
        return "incomplete", {"reason": "max_output_tokens"}
    if reply.finish_reason == "content_filter":
        return "incomplete", {"reason": "content_filter"}
    return "completed", None


def routing_of(reply: StoredMessage, catalog: Catalog, model: str | None) -> dict[str, Any]:
    """Gloo's routing fields (and Emmaus' safety) on a response, from its stored reply."""
    meta = reply.meta or {}
    spec = catalog.get(reply.model or model or "")
    return {
        "provider": reply.provider or (spec.vendor if spec else None),
        "model_family": spec.family_display if spec else None,
        "auto_routing": reply.routing_mechanism == "auto_routing",
        "routing_mechanism": reply.routing_mechanism,
        "routing_tier": reply.routing_tier,
        "routing_confidence": reply.routing_confidence,
        "routing_reason": meta.get("routing_reason"),
        "tradition": meta.get("tradition"),
        "safety": meta.get("safety"),
    }


def response_object(
    record: ResponseRecord, catalog: Catalog, *, model: str | None = None
) -> dict[str, Any]:
    """The Response object. `model`: the routed model while the reply has none yet."""
    reply, settings = record.reply, record.settings
    status, incomplete = status_of(reply)
    error = None
    if status == "failed" and reply.error:
        error = {
            "code": str(reply.error.get("name", "server_error")).lower(),
            "message": reply.error.get("message", ""),
        }
    prompt, completion = reply.prompt_tokens or 0, reply.completion_tokens or 0
    if record.usage.total_tokens:
        prompt, completion = record.usage.prompt_tokens, record.usage.completion_tokens
    conversation = settings.get("conversation")
    if conversation is None and record.chat is not None and record.chat.origin != "response":
        conversation = record.chat.id  # a v1 chat or a conversation: the reply is one of its items
    output = [] if status == "in_progress" else items_of(reply)
    return {
        "id": response_id(reply.id),
        "object": "response",
        "created_at": _timestamp(reply),
        "status": status,
        "background": False,
        "error": error,
        "incomplete_details": incomplete,
        "instructions": settings.get("instructions"),
        "max_output_tokens": settings.get("max_output_tokens"),
        "model": reply.model or model or "",
        "output": output,
        "parallel_tool_calls": settings.get("parallel_tool_calls", True),
        "previous_response_id": settings.get("previous_response_id"),
        "conversation": {"id": conversation} if conversation else None,
        "reasoning": None,
        "store": record.stored,
        "temperature": settings.get("temperature"),
        "text": settings.get("text") or {"format": {"type": "text"}},
        "tool_choice": settings.get("tool_choice", "auto"),
        "tools": settings.get("tools", []),
        "top_p": settings.get("top_p"),
        "truncation": settings.get("truncation", "disabled"),
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": completion,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": prompt + completion,
        }
        if status != "in_progress"
        else None,
        "user": None,
        "metadata": settings.get("metadata") or {},
        **routing_of(reply, catalog, model),
    }
