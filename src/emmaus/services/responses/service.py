"""ResponseService: the Responses API on the conversation store and the v2 engine.

```python
service = ResponseService(manager, completions, counter, settings, tasks)
run = await service.begin(client_id, ResponseRequest(inputs, routing, params))
record = await run.complete()            # or: async for event in run.stream(): ...
```

`begin` finds where the response goes (a chain, a conversation, a fork), commits the input
items with the reply placeholder (unless `store` is false), builds the context from the active
branch and judges it; nothing reaches the model before the input is stored."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

from emmaus.conversations.chats import UNSET
from emmaus.conversations.context import ContextBuilder, SystemPart, first_page
from emmaus.conversations.ids import MESSAGE, new_id
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import PENDING
from emmaus.conversations.settings import ChatSettings
from emmaus.conversations.tokens import TokenCounter
from emmaus.conversations.types import Chat, ContextWindow, NewMessage, StoredMessage
from emmaus.engine.router import RoutingDecision
from emmaus.engine.traditions import check_tradition, tradition_prompt
from emmaus.engine.types import Message
from emmaus.errors import ContextTooLong, InvalidRequest, MessageNotFound
from emmaus.services.chats.summaries import Summarizer
from emmaus.services.chats.tasks import TaskKeeper
from emmaus.services.completions import CompletionRequest, CompletionService
from emmaus.services.responses.run import ResponseRun, RunKit, RunPlan
from emmaus.services.responses.types import ResponseRecord, ResponseRequest
from emmaus.services.stops import Stops
from emmaus.store import utcnow

log = logging.getLogger(__name__)

CANCEL_WAIT = 5.0  # seconds a cancel waits for the run to settle its reply


class ResponseService:
    def __init__(
        self,
        manager: ConversationManager,
        completions: CompletionService,
        counter: TokenCounter,
        *,
        settings: ChatSettings | None = None,
        tasks: TaskKeeper | None = None,
        stops: Stops | None = None,
    ) -> None:
        self.manager = manager
        self.completions = completions
        self.counter = counter
        self.settings = settings or ChatSettings()
        self.tasks = tasks or TaskKeeper()
        self.builder = ContextBuilder(manager)
        self.summarizer = Summarizer(manager, completions, counter, self.settings)
        self.stops = stops  # reaches runs on other instances (see services/stops.py)
        self.running: dict[str, asyncio.Task[Any]] = {}  # reply id -> its run, on this instance
        self.kit = RunKit(
            manager,
            completions,
            counter,
            self.settings,
            self.summarizer,
            self.tasks,
            stops,
            self.running,
        )

    # -- reading -------------------------------------------------------------------------------

    async def get(self, client_id: str, reply_id: str) -> ResponseRecord:
        """A stored response of this client (another client's is not found)."""
        chat, reply = await self.manager.find_message(client_id, reply_id)
        if reply.role != "assistant" or reply.query_id is None:
            raise MessageNotFound(f"response {reply_id!r} not found")
        return ResponseRecord(chat, reply, stored=True)

    async def input_items(self, client_id: str, reply_id: str) -> list[StoredMessage]:
        """Every item the model was given for this response, the earlier turns of its chain
        included, oldest first (instructions are not items)."""
        record = await self.get(client_id, reply_id)
        assert record.chat is not None
        return await self.manager.branch(record.chat, record.reply.parent_id)

    async def delete(self, client_id: str, reply_id: str) -> None:
        """The response and its input items (one exchange); later turns are re-linked."""
        record = await self.get(client_id, reply_id)
        await self.manager.delete_messages(client_id, query_id=record.reply.query_id)

    async def cancel(self, client_id: str, reply_id: str) -> ResponseRecord:
        """Stop a running response and return it as it was left (`cancelled`, its text kept).
        The run may live on another instance: then the stop signal reaches it there."""
        task = self.running.get(reply_id)
        if self.stops is not None:
            await self.stops.request_stop(reply_id)
        elif task is not None:
            task.cancel()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(task), CANCEL_WAIT)
        else:
            deadline = asyncio.get_running_loop().time() + CANCEL_WAIT
            while asyncio.get_running_loop().time() < deadline:
                record = await self.get(client_id, reply_id)
                if record.reply.status != PENDING:
                    return record
                await asyncio.sleep(0.05)
        return await self.get(client_id, reply_id)

    # -- creating ------------------------------------------------------------------------------

    async def begin(self, client_id: str, request: ResponseRequest) -> ResponseRun:
        check_tradition(request.tradition)
        chat_id, chat, parent = await self._place(client_id, request)
        routing_view = CompletionRequest(_question(request), request.routing, request.params)
        decision = self.completions.decide(routing_view)
        budget = self._budget(decision, request)
        if request.store:
            turn = await self.manager.start_item_turn(
                client_id,
                chat_id,
                [self.new_message(m) for m in request.inputs],
                parent_id=parent,
                reply_meta={"response": request.echo},
                tradition=request.tradition if chat_id is None else None,
                query_id=request.regenerate_query,
                context_rows=first_page(budget),  # the context read rides on the write
            )
            chat, reply, created = turn.chat, turn.reply, turn.created_chat
            tradition = request.tradition or chat.tradition
            system = self._system(request.instructions, tradition)
            try:
                window = await self.builder.build(
                    chat, budget=budget, system=system, before=reply, preloaded=turn.preloaded
                )
                self._check_fits(window, request)
            except ContextTooLong:
                await self.manager.discard_turn(chat.id, reply.query_id or "", drop_chat=created)
                raise
        else:
            if chat is None and chat_id is not None:
                chat = await self.manager.get_chat(client_id, chat_id)
            tradition = request.tradition or (chat.tradition if chat else None)
            system = self._system(request.instructions, tradition)
            reply = _transient(chat, parent, request)
            window = await self._unstored_window(chat, reply, budget, system, request)
        domain = CompletionRequest(
            window.messages, request.routing, request.params, tradition, client_id=client_id
        )
        plan = RunPlan(domain, decision, self.completions.judge(domain), window, tradition)
        return ResponseRun(self.kit, chat, reply, plan, stored=request.store)

    async def _place(
        self, client_id: str, request: ResponseRequest
    ) -> tuple[str | None, Chat | None, Any]:
        """The chat the response joins (its id, and the chat when it had to be read) and the
        parent of its first new row (UNSET: the head). An append to a conversation reads
        nothing here: the write's own lock finds the chat (or its absence)."""
        if request.previous_reply_id is not None:
            record = await self.get(client_id, request.previous_reply_id)
            if record.reply.status == PENDING:
                raise InvalidRequest("the previous response is still in progress")
            assert record.chat is not None
            return record.chat.id, record.chat, record.reply.id
        conversation = request.conversation_id
        if conversation is None:
            return None, None, None
        if not request.fork:
            return conversation, None, UNSET
        chat = await self.manager.get_chat(client_id, conversation)
        if request.parent_item_id is not None:
            _, parent = await self.manager.find_message(client_id, request.parent_item_id)
            if parent.chat_id != chat.id:
                raise MessageNotFound(f"item {request.parent_item_id!r} not found")
        return chat.id, chat, request.parent_item_id

    def new_message(self, message: Message) -> NewMessage:
        calls = None
        if message.tool_calls:
            calls = [
                {"id": c.id, "name": c.name, "arguments": c.arguments} for c in message.tool_calls
            ]
        text = message.content or ""
        counted = text + "".join(c["name"] + c["arguments"] for c in calls or ())
        return NewMessage(
            role=message.role,
            content=text,
            token_count=self.counter.count(counted),
            tool_calls=calls,
            tool_call_id=message.tool_call_id,
        )

    def _budget(self, decision: RoutingDecision, request: ResponseRequest) -> int:
        """The tokens the context may use on every model of the chain (fallbacks included)."""
        wanted = request.params.max_tokens
        return min(
            model.context_window
            - min(wanted or model.max_output_tokens, model.max_output_tokens)
            - min(self.settings.context_margin, model.context_window // 8)
            for model in decision.chain
        )

    def _system(self, instructions: str | None, tradition: str | None) -> list[SystemPart]:
        tokens = self.counter.count(tradition_prompt(tradition))
        if instructions:
            tokens += self.counter.count(instructions)
        return [SystemPart(instructions or "", tokens)]

    def _check_fits(self, window: ContextWindow, request: ResponseRequest) -> None:
        if window.tokens > window.budget:
            raise ContextTooLong(
                f"the input needs about {window.tokens} tokens; the routed model's window "
                f"leaves {window.budget}"
            )
        if window.truncated and request.truncation == "disabled":
            raise ContextTooLong(
                f"the conversation needs more than the {window.budget} tokens the routed model's "
                'window leaves; send truncation: "auto" to drop (or summarise) the oldest turns'
            )

    async def _unstored_window(
        self,
        chat: Chat | None,
        reply: StoredMessage,
        budget: int,
        system: list[SystemPart],
        request: ResponseRequest,
    ) -> ContextWindow:
        """`store: false`: the stored chain as context (read only), then the new input."""
        fresh = [self.new_message(m) for m in request.inputs]
        own = sum(m.token_count + 4 for m in fresh)
        if chat is None or reply.parent_id is None:
            window = ContextWindow(
                messages=[Message(role="system", content=p.content) for p in system if p.content],
                tokens=sum(p.token_count + 4 for p in system),
                kept=0,
                budget=budget,
            )
        else:
            walk = replace(chat, branched=True)  # follow parent links from the given parent
            window = await self.builder.build(
                walk, budget=budget - own, system=system, before=reply
            )
            window.budget = budget
        window.messages = [*window.messages, *request.inputs]
        window.tokens += own
        self._check_fits(window, request)
        return window


def _question(request: ResponseRequest) -> list[Message]:
    """What routing reads: the new input (the newest user text), as v1 routes on its query."""
    if request.question is not None and not request.inputs:
        return [Message(role="user", content=request.question)]
    users = [m for m in request.inputs if m.role == "user" and m.content]
    if users:
        return users[-1:]
    return request.inputs[-1:] or [Message(role="user", content="")]


def _transient(chat: Chat | None, parent: Any, request: ResponseRequest) -> StoredMessage:
    """The reply of an unstored response: never written, so it has no row to point at."""
    now = utcnow()
    parent_id = parent if isinstance(parent, str) else (chat.head_message_id if chat else None)
    return StoredMessage(
        id=new_id(MESSAGE),
        chat_id=chat.id if chat else "",
        seq=(chat.last_seq + 1) if chat else 1,
        parent_id=parent_id,
        query_id=None,
        role="assistant",
        content="",
        token_count=0,
        status=PENDING,
        created_at=now,
        updated_at=now,
        meta={"response": request.echo},
    )
