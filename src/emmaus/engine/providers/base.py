"""The provider protocol: the one small interface every model backend implements."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Protocol

from emmaus.engine.types import Completion, GenerationParams, Message, StreamDelta

if TYPE_CHECKING:
    from emmaus.catalog import ModelSpec


class Provider(Protocol):
    """A model backend.

    - `complete` returns the whole answer or raises a `ProviderError`.
    - `stream` yields deltas; the last carries `finish_reason` and `usage`. A failure raises a
      `ProviderError` from the iterator, before or after the first delta. Closing the iterator
      (or cancelling the task consuming it) must stop generation promptly.
    - `count_tokens` is cheap and synchronous: it is used to budget context windows.
    """

    async def complete(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> Completion: ...

    def stream(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamDelta]: ...

    def count_tokens(self, model: ModelSpec, text: str) -> int: ...

    async def aclose(self) -> None: ...
