"""OpenAI Assistants threads: `{"thread": <thread object>, "messages": <the list object of GET
/v1/threads/{id}/messages, or its data array>}`, one per chat (a JSON list of them, or one a
line). A thread is one branch: its messages in `created_at` order (the API lists newest first by
default; a list whose times fall is read backwards, ties keep the list's order). Text content
parts are joined with a blank line; image parts become `[image]` markers (their file ids in the
message's meta); an `incomplete` or `failed` reply is kept as partial or failed. The thread's
title comes from its metadata (`title` or `name`) when there is one."""

from __future__ import annotations

from typing import Any

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.migration.source import SourceChat, SourceError, SourceMessage, from_epoch


def _content(parts: Any, attachments: list[str]) -> str:
    if isinstance(parts, str):
        return parts
    texts = []
    for part in parts if isinstance(parts, list) else []:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            text = part.get("text")
            texts.append(str(text.get("value", "")) if isinstance(text, dict) else str(text or ""))
        elif kind in ("image_file", "image_url"):
            detail = part.get(kind) or {}
            attachments.append(str(detail.get("file_id") or detail.get("url") or kind))
            texts.append("[image]")
    return "\n\n".join(t for t in texts if t)


def _status(raw: dict[str, Any], text: str) -> str:
    status = raw.get("status") or "completed"
    if status == "completed":
        return COMPLETE
    return PARTIAL if text and status != "failed" else FAILED


def read_assistants(export: Any) -> SourceChat:
    if not isinstance(export, dict) or not isinstance(export.get("thread"), dict):
        raise SourceError("not an Assistants thread export: no 'thread' object")
    thread = export["thread"]
    listed = export.get("messages")
    data = listed.get("data") if isinstance(listed, dict) else listed
    if not isinstance(data, list):
        raise SourceError("not an Assistants thread export: no 'messages' list")
    source_id = thread.get("id")
    if not isinstance(source_id, str) or not source_id:
        raise SourceError("an Assistants thread without an id")
    times = [m.get("created_at") for m in data if isinstance(m, dict)]
    if len(times) > 1 and all(isinstance(t, int | float) for t in times) and times[0] > times[-1]:
        data = data[::-1]
    skipped: list[str] = []
    messages: list[SourceMessage] = []
    for position, raw in enumerate(data):
        if not isinstance(raw, dict) or not raw.get("id"):
            raise SourceError(f"messages[{position}] is not a message object with an id")
        role = raw.get("role")
        attachments: list[str] = []
        text = _content(raw.get("content"), attachments)
        if role not in ("user", "assistant") or not text.strip():
            why = f"role {role!r}" if role not in ("user", "assistant") else "empty"
            skipped.append(f"message {raw['id']}: {why}")
            continue
        meta = {k: raw[k] for k in ("assistant_id", "run_id") if raw.get(k)}
        if attachments:
            meta["attachments"] = attachments
        messages.append(
            SourceMessage(
                source_id=str(raw["id"]),
                parent=None,
                role=str(role),
                content=text,
                created_at=from_epoch(raw.get("created_at")),
                status=_status(raw, text) if role == "assistant" else COMPLETE,
                meta=meta or None,
            )
        )
    # Stable: messages of the same second keep the list's order.
    ordered = sorted(
        messages, key=lambda m: m.created_at.timestamp() if m.created_at else float("inf")
    )
    parent = None
    for message in ordered:
        message.parent = parent
        parent = message.source_id
    metadata = thread.get("metadata") if isinstance(thread.get("metadata"), dict) else {}
    created = from_epoch(thread.get("created_at"))
    return SourceChat(
        format="assistants",
        source_id=source_id,
        messages=ordered,
        title=metadata.get("title") or metadata.get("name") or None,
        created_at=created,
        updated_at=ordered[-1].created_at if ordered else created,
        skipped=skipped,
    )
