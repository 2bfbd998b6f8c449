"""The provider for any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp
server, OpenAI, vendors, Gloo's v2 API).

The transport is aiohttp (sessions in `upstream_session`), not httpx: Emmaus may add at most 1 ms
p50 over calling the upstream directly, and on this 2-core box against the scripted upstream one
sequential non-streaming call costs ~155 µs of client CPU through aiohttp against ~650 µs through
httpx (p50 ~245 µs vs ~790 µs); at 64 calls in flight ~80-90 µs against ~1.6 ms per call
(`python -m bench.provider_overhead`). The provider itself adds ~0 µs to a bare aiohttp post.

Failure mapping:
- connect errors, a connection dropped before any response, 408, 429 and 5xx are retried with
  exponential backoff and jitter, honouring `Retry-After` (a `Retry-After` longer than
  `max_retry_wait` is not waited for: the error is raised at once, keeping `retry_after`, so the
  caller can fall back to another model instead of holding the user);
- then: timeouts -> ProviderTimeout, 408 -> ProviderTimeout, connect errors / 5xx / 429 ->
  ProviderUnavailable (with `retry_after`), 401/403/404 -> ProviderUnavailable (the upstream is
  misconfigured, not the request: another model may answer), other 4xx -> ProviderRejected with
  the upstream's message, a body that is not an OpenAI completion -> ProviderError;
- streams are retried only before the response starts; afterwards a malformed chunk, an error
  event, a dropped connection or an end without `finish_reason` -> ProviderStreamBroken, and a
  stalled stream -> ProviderTimeout.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

import aiohttp
import orjson

from emmaus.engine.providers.openai_compat import wire
from emmaus.engine.providers.openai_compat.session import Upstream, client_timeout
from emmaus.engine.providers.openai_compat.sse import SSEDecoder
from emmaus.engine.providers.openai_compat.stream import StreamReader
from emmaus.engine.providers.token_estimate import estimate_tokens
from emmaus.engine.types import (
    Completion,
    GenerationParams,
    Message,
    StreamDelta,
    ToolCallDelta,
)
from emmaus.errors import (
    ProviderError,
    ProviderRejected,
    ProviderStreamBroken,
    ProviderTimeout,
    ProviderUnavailable,
)
from emmaus.observability import metrics

if TYPE_CHECKING:
    from emmaus.catalog import ModelSpec
    from emmaus.config import Settings

_MISCONFIGURED = frozenset({401, 403, 404})


class OpenAIProvider:
    def __init__(self, settings: Settings, *, max_retry_wait: float = 5.0) -> None:
        self._settings = settings
        self._max_retry_wait = max_retry_wait
        self._upstreams: dict[str, Upstream] = {}
        self._timeouts: dict[float | None, aiohttp.ClientTimeout] = {}

    # --- plumbing ----------------------------------------------------------------------------

    def _upstream(self, base_url: str) -> Upstream:
        upstream = self._upstreams.get(base_url)
        if upstream is None:
            upstream = self._upstreams[base_url] = Upstream(base_url, self._settings)
        return upstream

    def _timeout(self, spec: ModelSpec) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(spec.timeout)
        if timeout is None:
            timeout = self._timeouts[spec.timeout] = client_timeout(self._settings, spec.timeout)
        return timeout

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = self._settings.upstream_backoff * (2**attempt) * random.uniform(0.5, 1.5)
        return max(backoff, retry_after or 0.0)

    async def _send(
        self, spec: ModelSpec, payload: dict[str, object], stream: bool
    ) -> aiohttp.ClientResponse:
        """POST with retries. Returns a 2xx response: for a stream with its headers read and the
        body open (the caller closes it), else with its body read and the connection released."""
        if not spec.base_url:
            raise ProviderUnavailable(f"model {spec.id} has no base_url")
        upstream = self._upstream(spec.base_url)
        body = orjson.dumps(payload)
        key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        headers = upstream.headers(key)
        timeout = self._timeout(spec)
        retries = self._settings.upstream_retries
        attempt = 0
        while True:
            try:
                response = await upstream.session.post(
                    upstream.url, data=body, headers=headers, timeout=timeout
                )
                if response.status < 300:
                    if not stream:
                        # Read here: a connection dropped mid-body is retried, as nothing of the
                        # answer reached the caller yet.
                        try:
                            await response.read()
                        except BaseException:
                            response.close()
                            raise
                    return response
                error: ProviderError | None = await self._failure(spec, response)
                assert error is not None
                if error.retry_after is not None and error.retry_after > self._max_retry_wait:
                    raise error
                if attempt >= retries or not _retryable(response.status):
                    raise error
            except aiohttp.ConnectionTimeoutError as exc:
                if attempt >= retries:
                    message = f"{spec.id}: cannot connect to the upstream in time"
                    raise ProviderTimeout(message) from exc
                error = None
            except aiohttp.ServerTimeoutError as exc:
                # Between bytes: the upstream may be busy with the request, so no retry.
                raise ProviderTimeout(f"{spec.id}: the upstream did not answer in time") from exc
            except aiohttp.ClientError as exc:
                # Refused, reset, dropped or garbled before an answer was returned.
                if attempt >= retries:
                    raise ProviderUnavailable(f"{spec.id}: upstream unreachable: {exc!r}") from exc
                error = None
            metrics.retried(spec.id)
            await asyncio.sleep(self._delay(attempt, error.retry_after if error else None))
            attempt += 1

    async def _failure(self, spec: ModelSpec, response: aiohttp.ClientResponse) -> ProviderError:
        status = response.status
        try:
            body = await response.read()  # then the connection goes back to the pool
        except (aiohttp.ClientError, TimeoutError):
            body = b""
        finally:
            response.close()
        message = f"{spec.id}: {wire.error_message(body, status)}"
        retry_after = wire.parse_retry_after(response.headers.get("retry-after"))
        if status == 408:
            return ProviderTimeout(message, retry_after=retry_after)
        if status == 429 or status >= 500 or status in _MISCONFIGURED:
            return ProviderUnavailable(message, retry_after=retry_after)
        return ProviderRejected(message)

    # --- Provider ----------------------------------------------------------------------------

    async def complete(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> Completion:
        payload = wire.build_request(model, messages, params, stream=False)
        response = await self._send(model, payload, stream=False)
        try:
            return wire.parse_completion(await response.read(), messages)  # read: cached bytes
        except wire.UnreadableResponse as exc:
            raise ProviderError(f"{model.id}: {exc}") from exc

    async def stream(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamDelta]:
        payload = wire.build_request(model, messages, params, stream=True)
        try:
            response = await self._send(model, payload, stream=True)
        except ProviderRejected as exc:
            if "stream_options" not in exc.message:
                raise
            del payload["stream_options"]  # an older server: usage will be estimated
            response = await self._send(model, payload, stream=True)
        # Closing drops the connection unless the body was read to its end (then it is back in
        # the pool already): a consumer that stops or is cancelled stops the upstream at once.
        try:
            if response.headers.get("content-type", "").startswith("application/json"):
                # A server that does not stream answered the whole completion at once.
                for delta in await self._unstreamed(model, messages, response):
                    yield delta
                return
            decoder = SSEDecoder()
            reader = StreamReader(model.id)
            try:
                async for raw in response.content.iter_any():
                    for data in decoder.feed(raw):
                        delta = reader.handle(data)
                        if delta is not None:
                            yield delta
            except aiohttp.ServerTimeoutError as exc:
                raise ProviderTimeout(f"{model.id}: the upstream stream stalled") from exc
            except aiohttp.ClientError as exc:
                message = f"{model.id}: the upstream stream broke: {exc!r}"
                raise ProviderStreamBroken(message) from exc
            for data in decoder.close():
                delta = reader.handle(data)
                if delta is not None:
                    yield delta
        finally:
            response.close()
        yield reader.final(messages)

    async def _unstreamed(
        self, model: ModelSpec, messages: Sequence[Message], response: aiohttp.ClientResponse
    ) -> list[StreamDelta]:
        try:
            body = await response.read()
        except aiohttp.ServerTimeoutError as exc:
            raise ProviderTimeout(f"{model.id}: the upstream did not answer in time") from exc
        except aiohttp.ClientError as exc:
            raise ProviderStreamBroken(f"{model.id}: the upstream answer broke: {exc!r}") from exc
        try:
            result = wire.parse_completion(body, messages)
        except wire.UnreadableResponse as exc:
            raise ProviderStreamBroken(f"{model.id}: {exc}") from exc
        deltas = []
        if result.content:
            deltas.append(StreamDelta(content=result.content))
        if result.tool_calls:
            calls = [
                ToolCallDelta(index=i, id=c.id, name=c.name, arguments=c.arguments)
                for i, c in enumerate(result.tool_calls)
            ]
            deltas.append(StreamDelta(tool_calls=calls))
        deltas.append(StreamDelta(finish_reason=result.finish_reason, usage=result.usage))
        return deltas

    def count_tokens(self, model: ModelSpec, text: str) -> int:
        return estimate_tokens(text)

    async def aclose(self) -> None:
        upstreams, self._upstreams = list(self._upstreams.values()), {}
        for upstream in upstreams:
            await upstream.aclose()


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500
