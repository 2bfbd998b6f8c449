"""Chats exported from Gloo's v1 API (`GET /ai/v1/chat`, spec §7.3) mapped into the store:
`user` stays user, `kallm` becomes assistant, `message` becomes content, `timestamp` becomes
created_at (UTC); ids, title, summary, pin, sources and suggestions are kept, messages go in in
timestamp order. Emmaus' own history endpoint has the same shape, so it moves chats between
instances too."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emmaus.conversations.ids import parse_v1_timestamp
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.conversations.types import Chat, NewMessage
from emmaus.errors import InvalidChatOperation


@dataclass(slots=True)
class ExportedChat:
    """One chat as read from a v1 history, ready for `ConversationManager.import_chat`."""

    chat_id: str | None
    messages: list[NewMessage]
    title: str | None = None
    summary: str | None = None
    pin: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    skipped: list[str] = field(default_factory=list)  # roles we do not know


def _time(value: Any) -> datetime | None:
    return parse_v1_timestamp(value) if isinstance(value, str) and value else None


def from_v1_history(history: dict[str, Any], count: Callable[[str], int]) -> ExportedChat:
    """`count` gives a message's token count (stored with it, as for every message)."""
    if not isinstance(history.get("messages"), list):
        raise InvalidChatOperation("not a v1 chat history: no 'messages' list")
    exported = ExportedChat(
        chat_id=history.get("chat_id") or None,
        messages=[],
        title=history.get("title"),
        summary=history.get("summary"),
        pin=bool(history.get("pin", False)),
        created_at=_time(history.get("created_at")),
        updated_at=_time(history.get("updated_at")),
    )
    timed = []
    for position, item in enumerate(history["messages"]):
        role = item.get("role")
        text = str(item.get("message") or "")
        if role == "user":
            message = NewMessage(
                "user",
                text,
                token_count=count(text),
                query_id=item.get("query_id"),
                meta={
                    "character_limit": item.get("character_limit") or 0,
                    "stream": bool(item.get("stream", False)),
                    "intent": item.get("intent"),
                    "publishers": list(item.get("publishers") or []),
                },
            )
        elif role in ("kallm", "assistant"):
            success = item.get("success", True)
            status = COMPLETE if success else (PARTIAL if text else FAILED)
            message = NewMessage(
                "assistant",
                text,
                token_count=count(text),
                query_id=item.get("query_id"),
                status=status,
                model=item.get("model"),
                sources=list(item.get("sources") or []),
                suggestions=list(item.get("suggestions") or []),
                meta={
                    "intent": item.get("intent") or 0,
                    "sources_limit": item.get("sources_limit") or 0,
                },
            )
        else:
            exported.skipped.append(str(role))
            continue
        message.id = item.get("message_id") or None
        message.created_at = _time(item.get("timestamp"))
        timed.append((message.created_at or exported.created_at, position, message))
    # Timestamp order; a user turn and its reply keep their order when the times tie.
    timed.sort(key=lambda t: (t[0] is None, t[0] or datetime.min, t[1]))
    exported.messages = [message for _, _, message in timed]
    return exported


async def import_v1_history(
    manager: ConversationManager,
    client_id: str,
    history: dict[str, Any],
    count: Callable[[str], int],
) -> Chat:
    chat = from_v1_history(history, count)
    return await manager.import_chat(
        client_id,
        chat.messages,
        title=chat.title,
        summary=chat.summary,
        pin=chat.pin,
        created_at=chat.created_at,
        updated_at=chat.updated_at,
        chat_id=chat.chat_id,
    )
