"""Open WebUI's chat export (Settings > Chats > Export, or one chat's "Export chat (.json)"): a
list of chats (or one), each with `chat.history.messages` (the tree: `parentId`,
`childrenIds`) and `chat.history.currentId` (the message shown last). The tree becomes the
chat's branches and `currentId` the active one; the chat's system prompt (`chat.system` or
`chat.params.system`) becomes a system message at the root. Kept: user and assistant messages
with text (an attached file is listed in the message's meta); an assistant message with an
`error` and no text is a failed reply, one not `done` a partial one. Left out: empty
messages. Times: message `timestamp` in seconds, the chat's `created_at`/`updated_at`."""

from __future__ import annotations

from typing import Any

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.migration.readers.tree import Node, prune
from emmaus.migration.source import SourceChat, SourceError, SourceMessage, from_epoch

SYSTEM_ID = "system"  # the source id given to the chat's system prompt


def _system_prompt(chat: dict[str, Any]) -> str:
    params = chat.get("params") if isinstance(chat.get("params"), dict) else {}
    return str(chat.get("system") or params.get("system") or "").strip()


def _message(node_id: str, raw: dict[str, Any], skipped: list[str]) -> SourceMessage | None:
    role = raw.get("role")
    text = raw.get("content")
    text = text if isinstance(text, str) else ""
    error = raw.get("error")
    if role not in ("user", "assistant", "system"):
        skipped.append(f"message {node_id}: role {role!r}")
        return None
    if not text.strip() and not (role == "assistant" and error):
        skipped.append(f"message {node_id}: empty")
        return None
    status = COMPLETE
    if role == "assistant" and error:
        status = PARTIAL if text.strip() else FAILED
    elif role == "assistant" and raw.get("done") is False:
        status = PARTIAL
    files = [str(f.get("name") or f.get("type") or "file") for f in raw.get("files") or [] if f]
    meta: dict[str, Any] = {"attachments": files} if files else {}
    return SourceMessage(
        source_id=node_id,
        parent=None,
        role=role,
        content=text,
        created_at=from_epoch(raw.get("timestamp")),
        status=status,
        model=(raw.get("model") or None) if role == "assistant" else None,
        meta=meta or None,
    )


def read_openwebui(export: Any) -> SourceChat:
    if not isinstance(export, dict) or not isinstance(export.get("chat"), dict):
        raise SourceError("not an Open WebUI chat: no 'chat' object")
    chat = export["chat"]
    history = chat.get("history")
    if not isinstance(history, dict) or not isinstance(history.get("messages"), dict):
        raise SourceError("not an Open WebUI chat: no 'chat.history.messages' object")
    source_id = export.get("id") or chat.get("id")
    if not isinstance(source_id, str) or not source_id:
        raise SourceError("an Open WebUI chat without an id")
    skipped: list[str] = []
    nodes: dict[str, Node] = {}
    created = from_epoch(export.get("created_at")) or from_epoch(chat.get("timestamp"))
    prompt = _system_prompt(chat)
    if prompt:
        system = SourceMessage(SYSTEM_ID, None, "system", prompt, created_at=created)
        nodes[SYSTEM_ID] = Node(None, system)
    for key, raw in history["messages"].items():
        if not isinstance(raw, dict):
            raise SourceError(f"chat.history.messages[{key!r}] is not an object")
        node_id = str(raw.get("id") or key)
        parent = raw.get("parentId") or (SYSTEM_ID if prompt else None)
        nodes[node_id] = Node(parent, _message(node_id, raw, skipped))
    pruned = prune(nodes, history.get("currentId"))
    return SourceChat(
        format="openwebui",
        source_id=source_id,
        messages=pruned.messages,
        active_leaf=pruned.active_leaf,
        title=export.get("title") or chat.get("title") or None,
        pin=bool(export.get("pinned", False)),
        created_at=created,
        updated_at=from_epoch(export.get("updated_at")),
        skipped=skipped,
        problems=pruned.problems,
    )
