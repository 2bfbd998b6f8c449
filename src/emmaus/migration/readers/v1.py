"""Gloo's v1 chat histories (`GET /ai/v1/chat`, one JSON object a line, as `emmaus migrate
export` writes them; Emmaus' own history has the same shape). The migration guide's mapping
(spec §7.3): `user` stays user, `kallm` becomes assistant, `message` becomes the content,
`timestamp` the creation time (UTC); ids, title, summary, pin, query ids, sources and suggestions
are kept. A history without a tree is one branch in timestamp order; one exported with `--tree`
(Emmaus) keeps every branch and the active one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL, PENDING
from emmaus.migration.record import ChatRecord, ReplyRecord, UserRecord, record_time
from emmaus.migration.source import SourceChat, SourceError, SourceMessage, topological

V1_ROLES = ("user", "kallm", "assistant")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_record(history: Any) -> tuple[ChatRecord, list[str]]:
    """The record, and the roles it held that v1 does not have (left out)."""
    if not isinstance(history, dict) or not isinstance(history.get("messages"), list):
        raise SourceError("not a v1 chat history: no 'messages' list")
    skipped = [
        f"a message with role {m.get('role')!r}"
        for m in history["messages"]
        if not isinstance(m, dict) or m.get("role") not in V1_ROLES
    ]
    if skipped:
        history = {
            **history,
            "messages": [
                m for m in history["messages"] if isinstance(m, dict) and m.get("role") in V1_ROLES
            ],
        }
    try:
        return ChatRecord.model_validate(history), skipped
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise SourceError(f"{where}: {first['msg']}") from exc


def _status(item: ReplyRecord) -> str:
    if item.status is not None:
        # A reply still being written when it was exported will never be finished here.
        return FAILED if item.status == PENDING else item.status
    if item.success:
        return COMPLETE
    return PARTIAL if item.message else FAILED


def _message(item: UserRecord | ReplyRecord) -> SourceMessage:
    if isinstance(item, UserRecord):
        meta: dict[str, Any] = {
            "character_limit": item.character_limit,
            "stream": item.stream,
            "intent": item.intent,
            "publishers": list(item.publishers),
        }
        return SourceMessage(
            source_id=item.message_id,
            parent=item.parent_id,
            role="user",
            content=item.message,
            created_at=record_time(item.timestamp),
            query_id=item.query_id,
            meta=meta,
            keep_id=True,
        )
    meta = {"intent": item.intent, "sources_limit": item.sources_limit}
    if item.safety is not None:
        meta["safety"] = item.safety
    return SourceMessage(
        source_id=item.message_id,
        parent=item.parent_id,
        role="assistant",
        content=item.message,
        created_at=record_time(item.timestamp),
        status=_status(item),
        query_id=item.query_id,
        model=item.model,
        sources=list(item.sources),
        suggestions=list(item.suggestions),
        meta=meta,
        keep_id=True,
    )


def read_v1(history: Any) -> SourceChat:
    record, skipped = parse_record(history)
    messages = [_message(item) for item in record.messages]
    chat = SourceChat(
        format="v1",
        source_id=record.chat_id,
        messages=messages,
        title=record.title,
        summary=record.summary,
        pin=record.pin,
        created_at=record_time(record.created_at),
        updated_at=record_time(record.updated_at),
        keep_id=True,
        skipped=skipped,
    )
    if record.is_tree:
        chat.messages = topological(messages)
        active = [m.message_id for m in record.messages if m.active]
        chat.active_leaf = record.head_message_id or (active[-1] if active else None)
        return chat
    # One branch in time order; a question and its reply keep their order when the times tie.
    timed = sorted(
        enumerate(messages),
        key=lambda p: (p[1].created_at is None, p[1].created_at or EPOCH, p[0]),
    )
    parent = None
    for _, message in timed:
        message.parent = parent
        parent = message.source_id
    chat.messages = [message for _, message in timed]
    return chat
