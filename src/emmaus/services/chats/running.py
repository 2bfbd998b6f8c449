"""Driving a `TurnRun`, whole or streamed: the one way every v1-style turn is answered (a new
message, an edit, a regeneration), so storage, cancellation and stopping behave the same.

```python
result = await drive(run)                       # the TurnResult (raises TurnFailed)
stream = await drive_stream(tasks, run)         # once the model's stream is open
stream.message_id                               # the reply's id, before any text
async for event in stream: ...                  # TextDelta pieces, then one TurnResult
```
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from emmaus.services.chats.tasks import TaskKeeper
from emmaus.services.chats.turn import OPENED, TurnRun
from emmaus.services.chats.types import TextDelta, TurnResult
from emmaus.services.events import next_event, relay


class TurnStream:
    """A streamed answer: `TextDelta`s, then one `TurnResult`. The exchange's ids are known
    before the first piece (for response headers, and to stop it while it streams)."""

    def __init__(
        self,
        events: AsyncIterator[TextDelta | TurnResult],
        *,
        chat_id: str,
        query_id: str,
        message_id: str,
        user_message_id: str,
    ) -> None:
        self._events = events
        self.chat_id, self.query_id = chat_id, query_id
        self.message_id, self.user_message_id = message_id, user_message_id

    @classmethod
    def of(cls, run: TurnRun, events: AsyncIterator[TextDelta | TurnResult]) -> TurnStream:
        turn = run.turn
        return cls(
            events,
            chat_id=turn.chat.id,
            query_id=turn.reply.query_id or turn.user.query_id or "",
            message_id=turn.reply.id,
            user_message_id=turn.user.id,
        )

    @classmethod
    def replayed(cls, result: TurnResult) -> TurnStream:
        """A stored result as a stream (an idempotent retry, or a turn stopped before it
        opened)."""
        return cls(
            _replayed(result),
            chat_id=result.chat_id,
            query_id=result.query_id,
            message_id=result.message_id,
            user_message_id=result.user_message_id,
        )

    def __aiter__(self) -> TurnStream:
        return self

    async def __anext__(self) -> TextDelta | TurnResult:
        return await anext(self._events)

    async def aclose(self) -> None:
        await self._events.aclose()  # type: ignore[attr-defined]


async def drive(run: TurnRun, future: asyncio.Future[TurnResult] | None = None) -> TurnResult:
    """Answer `run` in this task; `future` (an Idempotency-Key's waiters) gets the outcome."""
    try:
        result = await run.run()
    except BaseException as exc:
        settle_future(future, exc)
        raise
    settle_future(future, result)
    return result


async def drive_stream(
    tasks: TaskKeeper, run: TurnRun, future: asyncio.Future[TurnResult] | None = None
) -> TurnStream:
    """Open a streamed answer. Returns once the model's stream is open, so a failure up to there
    is raised here (for an HTTP error). Closing the stream early stops the model and stores the
    partial reply."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    task = tasks.spawn(run.run(queue.put_nowait))
    task.add_done_callback(lambda t: settle_future(future, t))
    try:
        first = await next_event(queue, task)
    except BaseException:
        task.cancel()  # the client left before the answer started
        raise
    if isinstance(first, BaseException):
        raise first
    if isinstance(first, TurnResult):  # stopped before the model's stream opened
        return TurnStream.replayed(first)
    return TurnStream.of(
        run, relay(queue, task, lambda e: isinstance(e, TurnResult), skip=(OPENED,))
    )


def settle_future(future: asyncio.Future[TurnResult] | None, outcome: object) -> None:
    if future is None or future.done():
        return
    if isinstance(outcome, asyncio.Task):
        if outcome.cancelled():
            future.cancel()
            return
        outcome = outcome.exception() or outcome.result()
    if isinstance(outcome, TurnResult):
        future.set_result(outcome)
    elif isinstance(outcome, asyncio.CancelledError):
        future.cancel()
    elif isinstance(outcome, BaseException):
        future.set_exception(outcome)
        future.exception()  # retrieved: waiters are optional


async def _replayed(result: TurnResult) -> AsyncIterator[TextDelta | TurnResult]:
    if result.message:
        yield TextDelta(result.message)
    yield result
