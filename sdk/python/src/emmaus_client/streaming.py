"""Streams as iterators: `for event in client.completions.stream(...)` yields typed deltas, and
the last item is the final result (the same type the non-streamed call returns), also kept as
`stream.result`. The request is sent when iteration starts. To stop early, leave the loop
inside `with client.completions.stream(...) as stream:` (or call `stream.close()`): the
connection closes, which stops the model on Emmaus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Generic, TypeVar

import httpx

from emmaus_client import errors
from emmaus_client._accumulate import Accumulator
from emmaus_client._sse import aiter_events, iter_events

D = TypeVar("D")
F = TypeVar("F")


def _broken(exc: httpx.TransportError) -> errors.StreamInterrupted:
    return errors.StreamInterrupted(f"the stream broke: {exc!r}", status=200, retryable=True)


class Stream(Generic[D, F]):
    def __init__(
        self,
        open_response: Callable[[], AbstractContextManager[httpx.Response]],
        accumulator: Accumulator[D, F],
    ) -> None:
        self._open = open_response
        self._accumulator = accumulator
        self._iterator: Iterator[D | F] | None = None
        self.result: F | None = None

    def __iter__(self) -> Iterator[D | F]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    def _run(self) -> Iterator[D | F]:
        accumulator = self._accumulator
        with self._open() as response:
            try:
                for event, data in iter_events(response.iter_lines()):
                    yield from accumulator.feed(event, data)
                    if accumulator.done:
                        break
            except httpx.TransportError as exc:
                raise _broken(exc) from exc
        self.result = accumulator.finish()
        yield self.result

    def until_done(self) -> F:
        """Read the rest of the stream; the final result."""
        for _ in self:
            pass
        assert self.result is not None
        return self.result

    def close(self) -> None:
        if self._iterator is not None:
            self._iterator.close()  # type: ignore[attr-defined]

    def __enter__(self) -> Stream[D, F]:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncStream(Generic[D, F]):
    def __init__(
        self,
        open_response: Callable[[], AbstractAsyncContextManager[httpx.Response]],
        accumulator: Accumulator[D, F],
    ) -> None:
        self._open = open_response
        self._accumulator = accumulator
        self._iterator: AsyncIterator[D | F] | None = None
        self.result: F | None = None

    def __aiter__(self) -> AsyncIterator[D | F]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def _run(self) -> AsyncIterator[D | F]:
        accumulator = self._accumulator
        async with self._open() as response:
            try:
                async for event, data in aiter_events(response.aiter_lines()):
                    for item in accumulator.feed(event, data):
                        yield item
                    if accumulator.done:
                        break
            except httpx.TransportError as exc:
                raise _broken(exc) from exc
        self.result = accumulator.finish()
        yield self.result

    async def until_done(self) -> F:
        async for _ in self:
            pass
        assert self.result is not None
        return self.result

    async def aclose(self) -> None:
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]

    async def __aenter__(self) -> AsyncStream[D, F]:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()
