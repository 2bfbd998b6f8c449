"""The provider for any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp
server, OpenAI, vendors, Gloo's v2 API).

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
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

import httpx
import orjson

from emmaus.engine.providers import openai_wire as wire
from emmaus.engine.providers.http_pool import SHARD_SIZE, ShardedPool
from emmaus.engine.providers.openai_stream import StreamReader
from emmaus.engine.providers.sse import SSEDecoder
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

if TYPE_CHECKING:
    from emmaus.catalog import ModelSpec
    from emmaus.config import Settings

# Nothing of the request reached a model, so another attempt is safe.
_CONNECTION_ERRORS = (
    httpx.ConnectError,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
_MISCONFIGURED = frozenset({401, 403, 404})


class OpenAIProvider:
    def __init__(
        self, settings: Settings, *, max_retry_wait: float = 5.0, shard_size: int = SHARD_SIZE
    ) -> None:
        self._settings = settings
        self._max_retry_wait = max_retry_wait
        self._shard_size = shard_size
        self._pools: dict[str, ShardedPool] = {}
        self._ssl: ssl.SSLContext | None = None
        self._timeouts: dict[float | None, httpx.Timeout] = {}

    # --- plumbing ----------------------------------------------------------------------------

    def _pool(self, base_url: str) -> ShardedPool:
        pool = self._pools.get(base_url)
        if pool is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # once: building one costs milliseconds
            pool = ShardedPool(
                self._settings.upstream_max_connections,
                ssl_context=self._ssl,
                headers={"content-type": "application/json", "user-agent": "emmaus"},
                shard_size=self._shard_size,
            )
            self._pools[base_url] = pool
        return pool

    def _timeout(self, spec: ModelSpec) -> httpx.Timeout:
        timeout = self._timeouts.get(spec.timeout)
        if timeout is None:
            read = spec.timeout or self._settings.upstream_timeout
            timeout = httpx.Timeout(read, connect=self._settings.upstream_connect_timeout)
            self._timeouts[spec.timeout] = timeout
        return timeout

    def _headers(self, spec: ModelSpec) -> dict[str, str] | None:
        key = os.environ.get(spec.api_key_env) if spec.api_key_env else None
        return {"authorization": f"Bearer {key}"} if key else None

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        backoff = self._settings.upstream_backoff * (2**attempt) * random.uniform(0.5, 1.5)
        return max(backoff, retry_after or 0.0)

    async def _send(
        self, spec: ModelSpec, payload: dict[str, object], stream: bool
    ) -> tuple[httpx.Response, Callable[[], None]]:
        """POST with retries. Returns a 2xx response (for a stream: headers read, body open) and
        the release to call once the response is closed."""
        if not spec.base_url:
            raise ProviderUnavailable(f"model {spec.id} has no base_url")
        pool = self._pool(spec.base_url)
        url = f"{spec.base_url}/chat/completions"
        body = orjson.dumps(payload)
        headers = self._headers(spec)
        timeout = self._timeout(spec)
        retries = self._settings.upstream_retries
        attempt = 0
        while True:
            shard, client = pool.acquire()
            keep = False
            try:
                request = client.build_request(
                    "POST", url, content=body, headers=headers, timeout=timeout
                )
                response = await client.send(request, stream=stream)
                if response.status_code < 300:
                    keep = stream
                    return response, partial(pool.release, shard) if stream else _noop
                error: ProviderError | None = await self._failure(spec, response)
                assert error is not None
                if error.retry_after is not None and error.retry_after > self._max_retry_wait:
                    raise error
                if attempt >= retries or not _retryable(response.status_code):
                    raise error
            except httpx.ConnectTimeout as exc:
                if attempt >= retries:
                    message = f"{spec.id}: cannot connect to the upstream in time"
                    raise ProviderTimeout(message) from exc
                error = None
            except httpx.TimeoutException as exc:
                raise ProviderTimeout(f"{spec.id}: the upstream did not answer in time") from exc
            except _CONNECTION_ERRORS as exc:
                if attempt >= retries:
                    raise ProviderUnavailable(f"{spec.id}: upstream unreachable: {exc!r}") from exc
                error = None
            finally:
                if not keep:
                    pool.release(shard)
            await asyncio.sleep(self._delay(attempt, error.retry_after if error else None))
            attempt += 1

    async def _failure(self, spec: ModelSpec, response: httpx.Response) -> ProviderError:
        status = response.status_code
        try:
            body = await response.aread()
        except httpx.HTTPError:
            body = b""
        finally:
            await response.aclose()
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
        response, _ = await self._send(model, payload, stream=False)
        try:
            return wire.parse_completion(response.content, messages)
        except wire.UnreadableResponse as exc:
            raise ProviderError(f"{model.id}: {exc}") from exc

    async def stream(
        self, model: ModelSpec, messages: Sequence[Message], params: GenerationParams
    ) -> AsyncIterator[StreamDelta]:
        payload = wire.build_request(model, messages, params, stream=True)
        try:
            response, release = await self._send(model, payload, stream=True)
        except ProviderRejected as exc:
            if "stream_options" not in exc.message:
                raise
            del payload["stream_options"]  # an older server: usage will be estimated
            response, release = await self._send(model, payload, stream=True)
        if response.headers.get("content-type", "").startswith("application/json"):
            # A server that does not stream answered the whole completion at once.
            try:
                deltas = await self._unstreamed(model, messages, response)
            finally:
                release()
            for delta in deltas:
                yield delta
            return
        decoder = SSEDecoder()
        reader = StreamReader(model.id)
        try:
            async for raw in response.aiter_bytes():
                for data in decoder.feed(raw):
                    delta = reader.handle(data)
                    if delta is not None:
                        yield delta
            for data in decoder.close():
                delta = reader.handle(data)
                if delta is not None:
                    yield delta
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"{model.id}: the upstream stream stalled") from exc
        except httpx.HTTPError as exc:
            raise ProviderStreamBroken(f"{model.id}: the upstream stream broke: {exc!r}") from exc
        finally:
            await response.aclose()
            release()
        yield reader.final(messages)

    async def _unstreamed(
        self, model: ModelSpec, messages: Sequence[Message], response: httpx.Response
    ) -> list[StreamDelta]:
        try:
            body = await response.aread()
        except httpx.TimeoutException as exc:
            raise ProviderTimeout(f"{model.id}: the upstream did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ProviderStreamBroken(f"{model.id}: the upstream answer broke: {exc!r}") from exc
        finally:
            await response.aclose()
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
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _noop() -> None:
    return None


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500
