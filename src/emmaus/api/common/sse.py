"""A streaming response that coalesces the chunks ready at the same moment into one write.

An upstream read often holds several SSE events; relayed one body message each, every event
costs a pass through the middleware stack and a socket write, which made streaming the most
expensive path of the gateway under load. Here the body iterator runs in its own task and
the sender writes whatever has piled up since its last write. Nothing waits to fill a batch:
a chunk that arrives alone is written at once.

A route's opening events and the first piece of the answer leave together when both are at
hand (else the opening leaves alone while the answer is awaited), and that write happens before
anything more is produced, as do the next `EAGER - 1`: when a whole answer sits in one upstream
read, the body iterator would otherwise relay (and screen) all of it before the sender ran, and
the first token would leave with the last."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

_END = object()
EAGER = 1


class CoalescingStreamingResponse(StreamingResponse):
    body_iterator: AsyncIterator[bytes]  # type: ignore[assignment]
    _gone: asyncio.Future[None] | None = None  # done when the client has left

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Starlette's version watches for the client leaving (ASGI servers before spec 2.4)
        with an anyio task group around the stream; one plain task does it here, for a
        fraction of the cost on every stream's first byte."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        spec = tuple(map(int, scope.get("asgi", {}).get("spec_version", "2.0").split(".")))
        if spec < (2, 4):  # (from 2.4 on, a send to a client that left raises OSError)
            self._gone = asyncio.ensure_future(self.listen_for_disconnect(receive))
        try:
            await self.stream_response(send)
        except OSError as exc:
            raise ClientDisconnect() from exc
        finally:
            if self._gone is not None:
                self._gone.cancel()
                if self._gone.done() and not self._gone.cancelled():
                    self._gone.exception()  # retrieved: a receive that failed is a client gone
        if self.background is not None:
            await self.background()

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        pending: list[bytes] = []
        ready: asyncio.Future[None] | None = None
        written = asyncio.Event()
        loop = asyncio.get_running_loop()

        async def produce() -> None:
            nonlocal ready
            eager = EAGER
            try:
                first = True
                async for chunk in self.body_iterator:
                    pending.append(chunk)
                    if ready is not None and not ready.done():
                        ready.set_result(None)
                    if first:
                        # The opening chunk does not wait for its write: when the first piece
                        # of the answer is at hand, both leave in one write (one pass through
                        # the middleware and one syscall fewer before the first token).
                        first = False
                        continue
                    if eager:
                        eager -= 1
                        written.clear()
                        await written.wait()
            finally:
                pending.append(_END)  # type: ignore[arg-type]
                if ready is not None and not ready.done():
                    ready.set_result(None)
                # Cancelled between chunks (waiting for an eager write), the iterator is not
                # inside an await to receive the cancellation: close it here, so that the model
                # call behind it stops now rather than when the generator is collected.
                aclose = getattr(self.body_iterator, "aclose", None)
                if aclose is not None:
                    await aclose()

        producer = asyncio.ensure_future(produce())
        gone = self._gone

        def wake(_: object) -> None:
            if ready is not None and not ready.done():
                ready.set_result(None)

        if gone is not None:
            gone.add_done_callback(wake)
        try:
            while True:
                if gone is not None and gone.done():
                    return  # the client left: the finally below stops the producer
                if not pending:
                    ready = loop.create_future()
                    await ready
                    continue  # (woken by a chunk, the end, or the client leaving)
                batch = pending[:]
                pending.clear()
                finished = batch[-1] is _END
                if finished:
                    batch.pop()
                    if not producer.done():  # (it ends right after queueing _END)
                        await asyncio.wait((producer,))
                if batch or finished:
                    body = batch[0] if len(batch) == 1 else b"".join(batch)
                    # The last chunks go out with the end of the body: one write fewer.
                    more = not finished or producer.cancelled() or producer.exception() is not None
                    await send({"type": "http.response.body", "body": body, "more_body": more})
                    written.set()
                if finished:
                    break
            producer.result()  # re-raise what the body iterator raised
        finally:
            if not producer.done():
                # The client went away (or we were cancelled): stop the body iterator, which
                # closes the model call behind it, before returning.
                producer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await producer
