"""ChatService: the v1 Chat & Message semantics on the v2 engine and the conversation store.

```python
service = ChatService(manager, completions, counter)
result = await service.send(client_id, SendOptions(query="Who wrote Romans?"))
async for event in await service.send_stream(client_id, SendOptions(query="...", stream=True)):
    ...  # TextDelta pieces, then one TurnResult
outcome = await service.stop(client_id, reply_id)   # from any instance (see services/stops.py)
```

A turn: the user message and its reply placeholder are committed first (a new chat when no
chat_id is given); then sources, routing, context and the model call run in `TurnRun`, and the
reply is settled as complete, partial or failed whatever happens, client disconnects and stops
included. Edits, regenerations and the active branch: `branching.py` (mixed in here).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, TypeVar

from emmaus.conversations.context import ContextBuilder, first_page
from emmaus.conversations.leases import Leases
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.pages import HistoryPage, read_page
from emmaus.conversations.schema import COMPLETE, FAILED, PENDING
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import Chat, ChatPage, NewMessage, Replay, StoredMessage
from emmaus.engine.traditions import check_tradition
from emmaus.errors import (
    IdempotencyInProgress,
    IdempotencyKeyReused,
    InvalidChatOperation,
)
from emmaus.services.chats.branching import BranchingOps
from emmaus.services.chats.prepare import TurnKit, context_budget, find_sources, route_turn
from emmaus.services.chats.running import TurnStream, drive, drive_stream
from emmaus.services.chats.summaries import Summarizer
from emmaus.services.chats.tasks import TaskKeeper
from emmaus.services.chats.turn import TurnRun
from emmaus.services.chats.types import (
    SendOptions,
    SourceProvider,
    TurnResult,
    turn_failure,
    turn_result,
)
from emmaus.services.completions import CompletionService
from emmaus.services.stops import Stops

log = logging.getLogger(__name__)
T = TypeVar("T")

CHAT_FIELDS = ("pin", "title", "summary")
IN_PROGRESS_RETRY_AFTER = 2.0
CLOSE_GRACE = 10.0  # seconds running turns get to settle when the server stops


@dataclass(slots=True)
class StopOutcome:
    """What a stop did: `stopped` when a running reply was stopped (or its instance told, and
    it had not settled within the wait: `status` still pending); False when nothing ran."""

    stopped: bool
    chat_id: str
    reply_id: str | None  # the reply the id named (the newest one, for an exchange)
    status: str | None  # the reply's status now


class ChatService(BranchingOps):
    def __init__(
        self,
        manager: ConversationManager,
        completions: CompletionService,
        counter: TokenCounter,
        *,
        settings: ChatSettings | None = None,
        sources: SourceProvider | None = None,
        leases: Leases | None = None,
        stops: Stops | None = None,
    ) -> None:
        self.manager = manager
        self.completions = completions
        self.counter = counter
        self.settings = settings or ChatSettings()
        self.sources = sources
        self.leases = leases  # None: one process, no other instance to take over from
        self.tasks = TaskKeeper()
        # Without a shared one (system.py wires it): only this process' turns can be stopped.
        self.stops = stops or Stops(leases)
        self.kit = TurnKit(
            manager=manager,
            completions=completions,
            counter=counter,
            settings=self.settings,
            sources=sources,
            builder=ContextBuilder(manager, cache=manager.cache),
            summarizer=Summarizer(manager, completions, counter, self.settings),
            tasks=self.tasks,
            stops=self.stops,
        )
        self._inflight: dict[tuple[str, str], asyncio.Future[TurnResult]] = {}

    # -- sending -----------------------------------------------------------------------------

    async def send(self, client_id: str, options: SendOptions) -> TurnResult:
        """Answer one message. Raises `TurnFailed` (the user turn stays stored) when the model
        fails, and the store's errors (`ChatNotFound`, ...) before anything is written."""
        started = await self._begin(client_id, options)
        if isinstance(started, TurnResult):
            return started
        return await drive(*started)

    async def send_stream(self, client_id: str, options: SendOptions) -> TurnStream:
        """Open a streamed answer. Returns once the model's stream is open, so a failure up to
        there is raised here (for an HTTP error); the stream then yields `TextDelta`s and a
        final `TurnResult` (`success` false if the model failed mid-way, or it was stopped),
        and names the exchange's ids up front. Closing it early stops the model and stores the
        partial reply."""
        started = await self._begin(client_id, options)
        if isinstance(started, TurnResult):
            return TurnStream.replayed(started)
        return await drive_stream(self.tasks, *started)

    async def _begin(
        self, client_id: str, options: SendOptions
    ) -> TurnResult | tuple[TurnRun, asyncio.Future[TurnResult] | None]:
        check_tradition(options.tradition)
        # Routed before anything is written: a question refused here leaves nothing behind.
        routed = route_turn(self.kit, options)
        key = options.idempotency_key
        idempotency = (key, options.fingerprint()) if key else None
        user = NewMessage(
            role="user",
            content=options.query,
            token_count=self.counter.count(options.query),
            meta=options.meta(),
        )
        # The sources' search needs nothing stored: it overlaps the write's round trips.
        found = asyncio.ensure_future(find_sources(self.kit, client_id, options))
        # Without a context cache the write also reads the context's first page (one
        # transaction fewer); with one, the cache serves it (`ContextBuilder`).
        preload = 0 if self.manager.cache else first_page(context_budget(self.kit, routed))
        try:
            started = await self.manager.start_turn(
                client_id,
                options.chat_id,
                user,
                tradition=options.tradition,
                idempotency=idempotency,
                context_rows=preload,
            )
        except BaseException:
            found.cancel()
            raise
        if isinstance(started, Replay):
            found.cancel()
            return await self._replay(client_id, options, started)
        future: asyncio.Future[TurnResult] | None = None
        if key:
            future = asyncio.get_running_loop().create_future()
            self._inflight[(client_id, key)] = future
            future.add_done_callback(lambda _: self._inflight.pop((client_id, key), None))
        return TurnRun(self.kit, client_id, options, started, routed, found), future

    async def _replay(self, client_id: str, options: SendOptions, seen: Replay) -> TurnResult:
        """A retried request: the first one's result, or its error; nothing is written."""
        if seen.fingerprint != options.fingerprint():
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used for a different request; use a new key"
            )
        running = self._inflight.get((client_id, options.idempotency_key or ""))
        if running is not None:
            try:
                result = await asyncio.shield(running)
            except asyncio.CancelledError:
                if not running.cancelled():
                    raise  # this request was cancelled, not the first one
            else:  # the first request has just finished: its result, as it was
                result.replayed = True
                if result.status == FAILED:
                    raise turn_failure(result)
                return result
        user, reply = await self._exchange(seen)
        leases = self.leases
        if reply.status == PENDING and leases and not await leases.is_alive(reply.lease_owner):
            await leases.settle_dead()  # its instance died: settle it now
            user, reply = await self._exchange(seen)
        if reply.status == PENDING:
            raise IdempotencyInProgress(
                "the first request with this Idempotency-Key is still being answered",
                retry_after=IN_PROGRESS_RETRY_AFTER,
            )
        result = turn_result(user, reply)
        result.replayed = True
        if reply.status == FAILED:
            raise turn_failure(result)
        return result

    async def _exchange(self, seen: Replay) -> tuple[StoredMessage, StoredMessage]:
        messages = await self.manager.query_messages(seen.chat_id, seen.query_id)
        user = next((m for m in messages if m.role == "user"), None)
        replies = [m for m in messages if m.role == "assistant"]
        if user is None or not replies:
            raise IdempotencyKeyReused("the exchange of this Idempotency-Key was deleted")
        return user, replies[-1]

    # -- chats ---------------------------------------------------------------------------------

    async def create_chat(
        self, client_id: str, *, title: str | None = None, tradition: str | None = None
    ) -> Chat:
        check_tradition(tradition)
        return await self.manager.create_chat(client_id, title=title, tradition=tradition)

    async def get_chat(self, client_id: str, chat_id: str) -> tuple[Chat, list[StoredMessage]]:
        return await self.manager.history(client_id, chat_id)

    async def history_page(
        self, client_id: str, chat_id: str, *, limit: int, before: str | None = None
    ) -> HistoryPage:
        """A page of the active branch, newest first, with each turn's versions (Studio)."""
        manager = self.manager
        return await read_page(
            manager.db,
            client_id,
            chat_id,
            limit=limit,
            before=before,
            stale_after=manager.stale_after,
        )

    async def list_chats(
        self, client_id: str, *, limit: int = 20, cursor: str | None = None
    ) -> ChatPage:
        return await self.manager.list_chats(client_id, limit=limit, cursor=cursor)

    async def update_chat_field(self, client_id: str, chat_id: str, field: str, value: Any) -> Any:
        """PATCH /ai/v1/chat: `pin` (a boolean), `title` or `summary` (text or null)."""
        if field == "pin":
            pin = _as_bool(value)
            await self.manager.update_chat(client_id, chat_id, pin=pin)
            return pin
        if field in ("title", "summary"):
            if value is not None and not isinstance(value, str):
                raise InvalidChatOperation(f"{field} must be a string or null")
            if isinstance(value, str) and "\x00" in value:
                raise InvalidChatOperation(f"{field} must not contain NUL characters")
            text = value.strip() if isinstance(value, str) else None
            if field == "title" and not text:
                raise InvalidChatOperation("title must not be empty")
            if field == "title":
                await self.manager.update_chat(client_id, chat_id, title=text)
            else:
                await self.manager.update_chat(client_id, chat_id, summary=text or None)
            return text or None
        raise InvalidChatOperation(f"chat_field must be one of {list(CHAT_FIELDS)}")

    async def delete_chat(self, client_id: str, chat_id: str) -> None:
        await self.manager.delete_chat(client_id, chat_id)

    async def delete_message(
        self, client_id: str, *, message_id: str | None = None, query_id: str | None = None
    ) -> list[str]:
        return await self.manager.delete_messages(
            client_id, message_id=message_id, query_id=query_id
        )

    # -- stopping ------------------------------------------------------------------------------

    async def stop(
        self,
        client_id: str,
        message_id: str,
        *,
        chat_id: str | None = None,
        wait: float | None = None,
    ) -> StopOutcome:
        """Stop the generation `message_id` names (a reply, the user turn it answers, or the
        exchange's query id) on whichever instance runs it; then wait up to `wait` seconds
        (default `settings.stop_wait`) for the reply to settle, keeping the text so far.
        `ChatNotFound` / `MessageNotFound` for ids this client has not."""
        chat, replies = await self.manager.replies_for(client_id, message_id, chat_id=chat_id)
        running = [r.id for r in replies if r.status == PENDING]
        for reply_id in running:
            await self.stops.request_stop(reply_id)
        if running:
            replies = await self._settled(client_id, chat.id, message_id, running, wait)
        named = next((r for r in reversed(replies) if r.id in running), None)
        named = named or (replies[-1] if replies else None)
        status = named.status if named is not None else None
        stopped = bool(running) and status != COMPLETE  # it may have finished first
        return StopOutcome(stopped, chat.id, named.id if named else None, status)

    async def _settled(
        self, client_id: str, chat_id: str, message_id: str, ids: list[str], wait: float | None
    ) -> list[StoredMessage]:
        """The replies once those of `ids` are settled, or as they are when `wait` runs out."""
        deadline = asyncio.get_running_loop().time() + (
            self.settings.stop_wait if wait is None else wait
        )
        delay = 0.01
        while True:
            _, replies = await self.manager.replies_for(client_id, message_id, chat_id=chat_id)
            pending = any(r.status == PENDING and r.id in ids for r in replies)
            if not pending or asyncio.get_running_loop().time() >= deadline:
                return replies
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)

    async def aclose(self) -> None:
        """Let running turns settle their replies (then cancel what is left)."""
        await self.tasks.aclose(CLOSE_GRACE)


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    raise InvalidChatOperation("pin must be true or false")
