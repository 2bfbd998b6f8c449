"""ChatGPT's data export (`conversations.json`: a list of conversations). Each conversation's
`mapping` is its message tree (`parent`, `children`), `current_node` the leaf shown last: the
tree becomes the chat's branches (an edited question or a regenerated answer is a sibling) and
`current_node` the active one.

Kept: user, assistant and system messages with text (`text` and `multimodal_text` content;
images, audio and files become a `[image]`, `[audio]` or `[file]` marker, listed in the
message's meta). Left out, their children re-attached to the nearest kept ancestor: the empty
root, nodes hidden from the conversation (`is_visually_hidden_from_conversation`), tool traffic
(`tool` messages, messages addressed to a tool), reasoning (`thoughts`, `reasoning_recap`) and
empty messages."""

from __future__ import annotations

from typing import Any

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.migration.readers.tree import Node, prune
from emmaus.migration.source import SourceChat, SourceError, SourceMessage, from_epoch

TEXT_TYPES = ("text", "multimodal_text")
_MARKERS = {"image_asset_pointer": "[image]", "audio_asset_pointer": "[audio]"}


def _part(part: Any, attachments: list[str]) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, dict):
        kind = str(part.get("content_type") or "file")
        attachments.append(str(part.get("asset_pointer") or kind))
        return _MARKERS.get(kind, "[file]")
    return ""


def _message(node_id: str, raw: dict[str, Any], skipped: list[str]) -> SourceMessage | None:
    """The kept message of a node, or None (and why, in `skipped`)."""
    role = (raw.get("author") or {}).get("role")
    content = raw.get("content") or {}
    kind = content.get("content_type")
    metadata = raw.get("metadata") or {}
    why = None
    if metadata.get("is_visually_hidden_from_conversation"):
        why = "hidden"
    elif role not in ("user", "assistant", "system"):
        why = f"a {role} message"
    elif raw.get("recipient", "all") != "all":
        why = f"addressed to {raw.get('recipient')}"
    elif kind not in TEXT_TYPES:
        why = f"{kind} content"
    if why is None:
        attachments: list[str] = []
        text = "\n".join(
            piece for piece in (_part(p, attachments) for p in content.get("parts") or []) if piece
        )
        if not text.strip():
            why = "empty"
    if why is not None:
        skipped.append(f"node {node_id}: {why}")
        return None
    status = raw.get("status") or "finished_successfully"
    meta: dict[str, Any] = {"attachments": attachments} if attachments else {}
    return SourceMessage(
        source_id=node_id,
        parent=None,
        role=str(role),
        content=text,
        created_at=from_epoch(raw.get("create_time")),
        status=COMPLETE if status == "finished_successfully" else (PARTIAL if text else FAILED),
        model=metadata.get("model_slug") if role == "assistant" else None,
        meta=meta or None,
    )


def read_chatgpt(conversation: Any) -> SourceChat:
    if not isinstance(conversation, dict) or not isinstance(conversation.get("mapping"), dict):
        raise SourceError("not a ChatGPT conversation: no 'mapping' object")
    source_id = conversation.get("conversation_id") or conversation.get("id")
    if not isinstance(source_id, str) or not source_id:
        raise SourceError("a ChatGPT conversation without an id")
    skipped: list[str] = []
    nodes: dict[str, Node] = {}
    for key, node in conversation["mapping"].items():
        if not isinstance(node, dict):
            raise SourceError(f"mapping[{key!r}] is not an object")
        node_id = str(node.get("id") or key)
        raw = node.get("message")
        message = _message(node_id, raw, skipped) if isinstance(raw, dict) else None
        if raw is None:
            skipped.append(f"node {node_id}: no message (the root)")
        nodes[node_id] = Node(node.get("parent"), message)
    pruned = prune(nodes, conversation.get("current_node"))
    return SourceChat(
        format="chatgpt",
        source_id=source_id,
        messages=pruned.messages,
        active_leaf=pruned.active_leaf,
        title=conversation.get("title") or None,
        created_at=from_epoch(conversation.get("create_time")),
        updated_at=from_epoch(conversation.get("update_time")),
        skipped=skipped,
        problems=pruned.problems,
    )
