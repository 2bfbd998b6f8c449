"""What ChatService takes and gives: v1 semantics on domain types (the wire shapes live in
`emmaus.api.chats.protocol`)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import orjson

from emmaus.conversations.schema import COMPLETE
from emmaus.conversations.types import StoredMessage
from emmaus.engine.types import Usage
from emmaus.errors import ClientDisconnected, EmmausError, ReplyStopped
from emmaus.grounding.models import Source


@dataclass(slots=True)
class SendOptions:
    """One POST /ai/v1/message. `None` means "not given" (the server's default applies)."""

    query: str
    chat_id: str | None = None
    character_limit: int | None = None
    sources_limit: int | None = None
    stream: bool = False
    publishers: list[str] = field(default_factory=list)
    enable_suggestions: int | None = None
    enable_sources: int | None = None
    intent: int | None = None
    tradition: str | None = None
    idempotency_key: str | None = None
    routing_preference: str | None = None  # the client's default (quality | balanced | cost)
    model: str | None = None  # route to this catalog model (Emmaus; default: auto-routing)
    model_family: str | None = None  # or to the best model of this family

    def fingerprint(self) -> str:
        """Identifies the request behind an Idempotency-Key (streaming or not is the same ask)."""
        fields = {
            "query": self.query,
            "chat_id": self.chat_id,
            "character_limit": self.character_limit,
            "sources_limit": self.sources_limit,
            "publishers": self.publishers,
            "enable_suggestions": self.enable_suggestions,
            "enable_sources": self.enable_sources,
            "intent": self.intent,
            "tradition": self.tradition,
            "model": self.model,
            "model_family": self.model_family,
        }
        return hashlib.sha256(orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)).hexdigest()

    def meta(self) -> dict[str, Any]:
        """The request settings a v1 user turn records (history shows them)."""
        return {
            "character_limit": self.character_limit or 0,
            "stream": self.stream,
            "intent": self.intent,
            "publishers": list(self.publishers),
            "sources_limit": self.sources_limit,
            "enable_sources": self.enable_sources,
            "enable_suggestions": self.enable_suggestions,
            "tradition": self.tradition,  # so an edit or a regeneration asks the same way
        }

    def inherit(self, asked: StoredMessage, query: str) -> SendOptions:
        """These options for asking `query` again in place of the user turn `asked` (an edit,
        a regeneration): every setting not given here is the one `asked` was sent with."""
        meta = asked.meta or {}

        def given(value: Any, key: str) -> Any:
            return value if value is not None else meta.get(key)

        return replace(
            self,
            query=query,
            character_limit=self.character_limit or meta.get("character_limit") or None,
            sources_limit=given(self.sources_limit, "sources_limit"),
            publishers=list(self.publishers or meta.get("publishers") or []),
            enable_suggestions=given(self.enable_suggestions, "enable_suggestions"),
            enable_sources=given(self.enable_sources, "enable_sources"),
            intent=given(self.intent, "intent"),
            tradition=given(self.tradition, "tradition"),
        )


@dataclass(slots=True)
class TurnResult:
    """The v1 answer to a message (also the last event of a stream)."""

    chat_id: str
    query_id: str
    message_id: str
    timestamp: datetime
    success: bool
    message: str
    model: str | None
    sources: list[dict[str, Any]]
    sources_limit: int
    suggestions: list[str]
    intent: int
    status: str
    user_message_id: str
    error: dict[str, Any] | None = None
    usage: Usage | None = None
    replayed: bool = False
    safety: dict[str, Any] | None = None  # the safety layer's verdict, as stored


@dataclass(slots=True)
class TextDelta:
    """A piece of the reply while it streams."""

    text: str


class SourceProvider(Protocol):
    """Retrieval for v1 `sources` (`emmaus.grounding.Retriever` implements it)."""

    async def search(
        self, client_id: str | None, query: str, publishers: Sequence[str] | None, limit: int
    ) -> list[Source]: ...


def source_record(source: Source) -> dict[str, Any]:
    """What a reply stores of a source it was given (and v1 returns as a `sources` item)."""
    return {
        "item_id": str(source.document_id),
        "item_title": source.title,
        "publisher": source.publisher,
        "url": source.url,
        "snippet": source.text,
        "score": round(source.similarity, 4),
    }


class TurnFailed(EmmausError):
    """The reply failed; the user turn is stored. Carries the ids so the caller can find the
    exchange (GET /ai/v1/chat) and the original error's status, code and name."""

    def __init__(
        self,
        error: dict[str, Any],
        *,
        chat_id: str,
        query_id: str,
        message_id: str,
        retry_after: float | None = None,
    ):
        super().__init__(str(error.get("message") or "the reply failed"), retry_after=retry_after)
        self.status = int(error.get("status") or 502)
        self.code = int(error.get("code") or 2000)
        self.name = str(error.get("name") or "PROVIDER_ERROR")
        self.retryable = bool(error.get("retryable", False))
        self.chat_id, self.query_id, self.message_id = chat_id, query_id, message_id

    def to_dict(self) -> dict[str, object]:
        body = super().to_dict()
        body.update(chat_id=self.chat_id, query_id=self.query_id, message_id=self.message_id)
        return body


def stored_error(exc: EmmausError) -> dict[str, Any]:
    return {**exc.to_dict(), "status": exc.status}


DISCONNECTED = stored_error(
    ClientDisconnected("the client went away before the reply was finished")
)
STOPPED = stored_error(ReplyStopped("stopped at the caller's request"))


def turn_result(
    user: StoredMessage, reply: StoredMessage, *, usage: Usage | None = None
) -> TurnResult:
    """The outcome of a turn as the service reports it, from its two stored messages."""
    meta = reply.meta or {}
    return TurnResult(
        chat_id=reply.chat_id,
        query_id=reply.query_id or user.query_id or "",
        message_id=reply.id,
        timestamp=reply.updated_at,
        success=reply.status == COMPLETE,
        message=reply.content,
        model=reply.model,
        sources=list(reply.sources or []),
        sources_limit=int(meta.get("sources_limit") or 0),
        suggestions=list(reply.suggestions or []),
        intent=int(meta.get("intent") or 0),
        status=reply.status,
        user_message_id=user.id,
        error=reply.error,
        usage=usage,
        safety=meta.get("safety"),
    )


def turn_failure(result: TurnResult, *, retry_after: float | None = None) -> TurnFailed:
    """The error a failed turn raises; `retry_after` (an overloaded model's hint) becomes the
    response's `Retry-After`."""
    return TurnFailed(
        result.error or {},
        chat_id=result.chat_id,
        query_id=result.query_id,
        message_id=result.message_id,
        retry_after=retry_after,
    )
