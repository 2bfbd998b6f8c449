"""A streaming response that coalesces the chunks ready at the same moment into one write.

An upstream read often holds several SSE events; relayed one body message each, every event
costs a pass through the middleware stack and a socket write, which made streaming the most
expensive path of the gateway under load. Here the body iterator runs in its own task and
the sender writes whatever has piled up since its last write. Nothing waits to fill a batch:
a chunk that arrives alone is written at once.

The first `EAGER` chunks (a route's opening events, then the first piece of the answer) are
each written before the next one is produced: when a whole answer sits in one upstream read,
the body iterator would otherwise relay (and screen) all of it before the sender ran, and the
first token would leave with the last."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.responses import StreamingResponse
from starlette.types import Send

_END = object()
EAGER = 2


class CoalescingStreamingResponse(StreamingResponse):
    body_iterator: AsyncIterator[bytes]  # type: ignore[assignment]

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
                async for chunk in self.body_iterator:
                    pending.append(chunk)
                    if eager:
                        written.clear()
                    if ready is not None and not ready.done():
                        ready.set_result(None)
                    if eager:
                        eager -= 1
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
        try:
            while True:
                if not pending:
                    ready = loop.create_future()
                    await ready
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
