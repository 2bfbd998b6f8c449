"""`ChatService`: the migration guide's v1-style façade over Completions v2 and the client-managed
store. Each turn: assemble the context from stored token counts, ask the model, store the
question and the answer together in one transaction. Turns of one conversation take their
turn: an in-process lock, and on PostgreSQL the conversation's row lock (`SELECT ... FOR
UPDATE`) held from reading the history to writing both messages, so two processes sending to
one conversation at once still store (and see) the turns in order.

With a `Rollout`, users off the new path go to the old v1 endpoint (their turns are still
stored here, so moving them forward later keeps their history), or in shadow mode to both."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from emmaus_client._client import AsyncEmmaus
from emmaus_client.chat.rollout import Path, Rollout
from emmaus_client.chat.shadow import ShadowReport, compare, log_report
from emmaus_client.chat.summaries import CompletionSummarizer
from emmaus_client.errors import EmmausError
from emmaus_client.storage import (
    Context,
    Conversation,
    ConversationManager,
    NewMessage,
    StoredMessage,
    Summarizer,
    estimate_tokens,
)
from emmaus_client.types.chats import MessageResponse
from emmaus_client.types.completions import ChatCompletion

log = logging.getLogger("emmaus_client.chat")

V1_CHAT = "v1_chat_id"  # conversation meta: the old path's chat id for this conversation


@dataclass(frozen=True, slots=True)
class ChatTurn:
    """One exchange, as stored. `completion` is the new path's answer, `v1` the old path's."""

    conversation_id: str
    question: StoredMessage
    answer: StoredMessage
    path: Path
    context: Context
    completion: ChatCompletion | None = None
    v1: MessageResponse | None = None
    shadow: ShadowReport | None = None

    @property
    def text(self) -> str:
        return self.answer.content


@dataclass(slots=True)
class _Outcome:
    answer: NewMessage
    completion: ChatCompletion | None = None
    v1: MessageResponse | None = None
    shadow: ShadowReport | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # merged into the conversation's meta


class _KeyedLocks:
    """One asyncio lock per conversation, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_LOCKS = _KeyedLocks()


class ChatService:
    """`ChatService(client, store, ...)`: `client` an `AsyncEmmaus`, `store` a migrated
    `ConversationManager`. Routing: `model`, `model_family` or (default) auto-routing; a
    conversation's own `model` and `tradition` win over the service's. `context_tokens` is the
    window the context is fitted to (minus `max_tokens` for the answer). With
    `summarize_after_tokens`, a conversation whose unsummarised messages pass that many tokens
    is condensed after the turn (all but the newest `summary_keep_tokens`). The old path of a
    `rollout` goes to `legacy_client`'s v1 endpoint (Gloo's, say; by default `client`'s)."""

    def __init__(
        self,
        client: AsyncEmmaus,
        store: ConversationManager,
        *,
        model: str | None = None,
        model_family: str | None = None,
        tradition: str | None = None,
        system: str | None = None,
        context_tokens: int = 8192,
        max_tokens: int = 512,
        summarize_after_tokens: int | None = None,
        summary_keep_tokens: int = 2048,
        summarizer: Summarizer | None = None,
        rollout: Rollout | None = None,
        on_shadow: Callable[[ShadowReport], Any] | None = None,
        legacy_client: AsyncEmmaus | None = None,
        completion_options: dict[str, Any] | None = None,
    ) -> None:
        self.client, self.store = client, store
        self.legacy_client = legacy_client or client
        self.model, self.model_family = model, model_family
        self.tradition, self.system = tradition, system
        self.context_tokens, self.max_tokens = context_tokens, max_tokens
        self.summarize_after_tokens = summarize_after_tokens
        self.summary_keep_tokens = summary_keep_tokens
        self.summarizer = summarizer or CompletionSummarizer(
            client, model=model, model_family=model_family
        )
        self.rollout = rollout or Rollout()
        self.on_shadow = on_shadow
        self.completion_options = dict(completion_options or {})

    async def start(
        self,
        user_id: str,
        *,
        title: str | None = None,
        tradition: str | None = None,
        model: str | None = None,
    ) -> Conversation:
        """A new conversation for `user_id`."""
        return await self.store.create_conversation(
            user_id, title=title, tradition=tradition, model=model
        )

    async def history(self, conversation_id: str) -> list[StoredMessage]:
        return await self.store.get_history(conversation_id)

    async def send(
        self, conversation_id: str, text: str, *, user_id: str | None = None
    ) -> ChatTurn:
        """Answer `text` in the conversation and store both messages. With `user_id`, only that
        user's conversation is found (`ConversationNotFound` otherwise). A failed model call
        stores nothing and raises the SDK's error."""
        if not text.strip():
            raise ValueError("text must not be empty")
        budget = max(1, self.context_tokens - self.max_tokens - estimate_tokens(text))
        # Services of one process on the same database share the lock of a conversation.
        async with _LOCKS.hold(f"{self.store.engine.url}|{conversation_id}"):
            if self.store.dialect == "postgresql":
                async with self.store.locked(conversation_id, user_id=user_id) as held:
                    context = await held.context(budget, self.system)
                    outcome = await self._exchange(held.conversation, context, text)
                    if outcome.meta:
                        await held.set_meta({**held.conversation.meta, **outcome.meta})
                    question, answer = await held.add_messages(self._pair(text, outcome))
                    path = self._path(held.conversation)
            else:  # SQLite: hold the database's one write lock only for the writes
                conversation = await self.store.get_conversation(conversation_id, user_id=user_id)
                context = await self.store.build_context(
                    conversation_id, budget_tokens=budget, system=self.system
                )
                outcome = await self._exchange(conversation, context, text)
                async with self.store.locked(conversation_id) as held:
                    if outcome.meta:
                        await held.set_meta({**held.conversation.meta, **outcome.meta})
                    question, answer = await held.add_messages(self._pair(text, outcome))
                path = self._path(conversation)
        turn = ChatTurn(
            conversation_id, question, answer, path, context,
            outcome.completion, outcome.v1, outcome.shadow,
        )  # fmt: skip
        await self._maybe_summarize(turn)
        return turn

    def _path(self, conversation: Conversation) -> Path:
        return self.rollout.path_for(conversation.user_id)

    def _pair(self, text: str, outcome: _Outcome) -> list[NewMessage]:
        question = NewMessage("user", text, tokens_used=estimate_tokens(text))
        return [question, outcome.answer]

    async def _exchange(self, conversation: Conversation, context: Context, text: str) -> _Outcome:
        path = self._path(conversation)
        if path == "new":
            completion = await self._ask_new(conversation, context, text)
            return _Outcome(self._new_answer(completion, context), completion=completion)
        if path == "old":
            v1 = await self._ask_old(conversation, text)
            return _Outcome(self._old_answer(v1), v1=v1, meta={V1_CHAT: v1.chat_id})
        return await self._shadow(conversation, context, text)

    async def _ask_new(
        self, conversation: Conversation, context: Context, text: str
    ) -> ChatCompletion:
        messages = [*context.messages, {"role": "user", "content": text}]
        options = {
            "max_tokens": self.max_tokens,
            "tradition": conversation.tradition or self.tradition,
            **self.completion_options,
        }
        model = conversation.model or self.model
        family = None if model else self.model_family
        return await self.client.completions.create(
            messages, model=model, model_family=family, **options
        )

    async def _ask_old(self, conversation: Conversation, text: str) -> MessageResponse:
        return await self.legacy_client.chats.send(
            text,
            chat_id=conversation.meta.get(V1_CHAT),
            tradition=conversation.tradition or self.tradition,
        )

    def _new_answer(self, completion: ChatCompletion, context: Context) -> NewMessage:
        content = completion.content or ""
        routing = completion.routing
        meta = {
            "path": "new",
            "completion_id": completion.id,
            "finish_reason": completion.finish_reason,
            "routing_mechanism": routing.routing_mechanism,
            "routing_tier": routing.routing_tier,
            "routing_confidence": routing.routing_confidence,
            "provider": routing.provider,
            "tradition": routing.tradition,
            "prompt_tokens": completion.usage.prompt_tokens,
            "completion_tokens": completion.usage.completion_tokens,
            "context_messages": len(context.messages),
        }
        tokens = completion.usage.completion_tokens or estimate_tokens(content)
        return NewMessage(
            "assistant", content, tokens_used=tokens, model=completion.model, meta=meta
        )

    def _old_answer(self, v1: MessageResponse) -> NewMessage:
        meta = {
            "path": "old",
            V1_CHAT: v1.chat_id,
            "query_id": v1.query_id,
            "message_id": v1.message_id,
            "sources": v1.sources,
            "suggestions": v1.suggestions,
        }
        return NewMessage("assistant", v1.message, model=v1.model, meta=meta)

    async def _shadow(self, conversation: Conversation, context: Context, text: str) -> _Outcome:
        async def timed(work: Any) -> tuple[Any, float]:
            started = time.perf_counter()
            try:
                return await work, time.perf_counter() - started
            except EmmausError as exc:
                return exc, time.perf_counter() - started

        (old, old_seconds), (new, new_seconds) = await asyncio.gather(
            timed(self._ask_old(conversation, text)),
            timed(self._ask_new(conversation, context, text)),
        )
        if isinstance(old, BaseException):
            raise old  # the old path answers the user: its failure is the turn's
        failed = isinstance(new, BaseException)
        report = compare(
            user_id=conversation.user_id,
            conversation_id=conversation.id,
            old_text=old.message,
            old_model=old.model,
            old_seconds=old_seconds,
            new_text=None if failed else (new.content or ""),
            new_model=None if failed else new.model,
            new_tier=None if failed else new.routing.routing_tier,
            new_seconds=new_seconds,
            new_error=f"{type(new).__name__}: {new}" if failed else None,
        )
        log_report(report)
        if self.on_shadow is not None:
            self.on_shadow(report)
        answer = self._old_answer(old)
        answer.meta["path"] = "shadow"
        answer.meta["shadow"] = {
            "similarity": report.similarity,
            "length_delta": report.length_delta,
            "model": report.new_model,
            "error": report.new_error,
        }
        return _Outcome(answer, v1=old, shadow=report, meta={V1_CHAT: old.chat_id})

    async def _maybe_summarize(self, turn: ChatTurn) -> None:
        limit = self.summarize_after_tokens
        if limit is None:
            return
        pending = turn.context.pending_tokens + turn.question.tokens_used + turn.answer.tokens_used
        if pending <= limit:
            return
        try:
            await self.store.summarize(
                turn.conversation_id, self.summarizer, keep_tokens=self.summary_keep_tokens
            )
        except (EmmausError, SQLAlchemyError) as exc:  # the turn is stored; the next tries again
            log.warning("summary of %s failed: %s", turn.conversation_id, exc)
