"""OpenAIProvider failures against the scripted upstream over real loopback HTTP: retries,
Retry-After, error mapping, broken streams, timeouts and cancellation reaching the upstream."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from emmaus.config import Settings
from emmaus.engine.providers.openai_compat.provider import OpenAIProvider
from emmaus.engine.types import GenerationParams, Message, StreamDelta
from emmaus.errors import (
    ProviderError,
    ProviderRejected,
    ProviderStreamBroken,
    ProviderTimeout,
    ProviderUnavailable,
)
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.support.upstream import openai_spec, unique

HELLO = [Message("user", "Grace and peace to you")]
PARAMS = GenerationParams()


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream() as handle:
        yield handle


@pytest.fixture
async def provider() -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(Settings(upstream_backoff=0.01, upstream_retries=2))
    yield provider
    await provider.aclose()


async def collect(stream: AsyncIterator[StreamDelta]) -> list[StreamDelta]:
    return [delta async for delta in stream]


def requests_seen(upstream: UpstreamHandle, model: str) -> int:
    return upstream.stats()["requests"].get(model, 0)


# --- retries before an answer ----------------------------------------------------------------


async def test_flaky_upstream_is_retried(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("flaky-2")
    result = await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert result.finish_reason == "stop"
    assert requests_seen(upstream, model) == 3


async def test_retries_exhausted_on_5xx(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    model = unique("flaky-3+fail-502")
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert "scripted failure 502" in caught.value.message
    assert caught.value.retryable
    assert requests_seen(upstream, model) == 3  # 1 + upstream_retries


async def test_retry_after_is_honoured(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    model = unique("flaky-1+fail-429+retryafter-0.4")
    started = time.monotonic()
    result = await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert result.finish_reason == "stop"
    assert time.monotonic() - started >= 0.4  # waited as told, not the 10 ms backoff
    assert requests_seen(upstream, model) == 2


async def test_429_exhausted_keeps_retry_after(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("fail-429+retryafter-0.05")
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert caught.value.retry_after == pytest.approx(0.05)
    assert requests_seen(upstream, model) == 3


async def test_long_retry_after_is_not_waited_for(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("fail-503+retryafter-120")
    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert time.monotonic() - started < 5  # the bound, far below the 120 s asked for
    assert caught.value.retry_after == 120
    assert requests_seen(upstream, model) == 1


async def test_408_exhausted_is_a_timeout(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("fail-408")
    with pytest.raises(ProviderTimeout):
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert requests_seen(upstream, model) == 3


async def test_4xx_is_rejected_without_retry(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("fail-400")
    with pytest.raises(ProviderRejected) as caught:
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert "scripted failure 400" in caught.value.message  # the upstream's own words
    assert not caught.value.retryable
    assert requests_seen(upstream, model) == 1


@pytest.mark.parametrize("status", [401, 404])
async def test_misconfigured_upstream_is_unavailable_not_rejected(
    upstream: UpstreamHandle, provider: OpenAIProvider, status: int
) -> None:
    model = unique(f"fail-{status}")
    with pytest.raises(ProviderUnavailable):
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert requests_seen(upstream, model) == 1


async def test_connection_refused_is_unavailable(provider: OpenAIProvider) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    spec = openai_spec(f"http://127.0.0.1:{port}/v1", "fixed")
    with pytest.raises(ProviderUnavailable):
        await provider.complete(spec, HELLO, PARAMS)
    with pytest.raises(ProviderUnavailable):
        await collect(provider.stream(spec, HELLO, PARAMS))


async def test_hang_times_out(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    model = unique("hang")
    spec = openai_spec(upstream.base_url, model, timeout=0.3)
    with pytest.raises(ProviderTimeout):
        await provider.complete(spec, HELLO, PARAMS)
    with pytest.raises(ProviderTimeout):
        await collect(provider.stream(spec, HELLO, PARAMS))
    assert requests_seen(upstream, model) == 2  # a read timeout is not retried
    assert await upstream.wait_cancelled(model, count=2)


async def test_malformed_body(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    with pytest.raises(ProviderError) as caught:
        await provider.complete(openai_spec(upstream.base_url, "malformed"), HELLO, PARAMS)
    assert type(caught.value) is ProviderError
    assert caught.value.retryable


async def test_disconnect_mid_body_is_retried(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("disconnect")
    with pytest.raises(ProviderUnavailable):  # nothing reached the caller: retried, then given up
        await provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    assert requests_seen(upstream, model) == 3


# --- streams ---------------------------------------------------------------------------------


async def test_stream_retried_before_first_byte(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("flaky-1")
    deltas = await collect(provider.stream(openai_spec(upstream.base_url, model), HELLO, PARAMS))
    assert deltas[-1].finish_reason == "stop"
    assert requests_seen(upstream, model) == 2


async def test_stream_disconnect_midway_is_broken_and_not_retried(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("disconnect")
    received: list[StreamDelta] = []
    with pytest.raises(ProviderStreamBroken):
        async for delta in provider.stream(openai_spec(upstream.base_url, model), HELLO, PARAMS):
            received.append(delta)
    assert len(received) == 2  # the two content chunks sent before the drop
    assert requests_seen(upstream, model) == 1


async def test_stream_malformed_chunk(upstream: UpstreamHandle, provider: OpenAIProvider) -> None:
    model = unique("malformed")
    with pytest.raises(ProviderStreamBroken, match="unreadable chunk"):
        await collect(provider.stream(openai_spec(upstream.base_url, model), HELLO, PARAMS))
    assert requests_seen(upstream, model) == 1


async def test_stream_without_finish_reason(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, "no-finish")
    with pytest.raises(ProviderStreamBroken, match="without finish_reason"):
        await collect(provider.stream(spec, HELLO, PARAMS))


async def test_stream_stall_is_a_timeout(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    spec = openai_spec(upstream.base_url, unique("tokens-3+drip-5000"), timeout=0.3)
    with pytest.raises(ProviderTimeout, match="stalled"):
        await collect(provider.stream(spec, HELLO, PARAMS))


# --- cancellation reaches the upstream -------------------------------------------------------


async def test_closing_the_stream_closes_the_upstream(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("tokens-50+drip-100")
    stream = provider.stream(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    async for delta in stream:
        assert delta.content
        break
    await stream.aclose()  # type: ignore[attr-defined]
    assert await upstream.wait_cancelled(model, within=1.0)


async def test_cancelling_the_consumer_closes_the_upstream(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("tokens-50+drip-100")
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in provider.stream(openai_spec(upstream.base_url, model), HELLO, PARAMS):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await upstream.wait_cancelled(model, within=1.0)


async def test_cancelling_a_waiting_call_closes_the_upstream(
    upstream: UpstreamHandle, provider: OpenAIProvider
) -> None:
    model = unique("slow-5000")
    task = asyncio.create_task(
        provider.complete(openai_spec(upstream.base_url, model), HELLO, PARAMS)
    )
    for _ in range(500):  # until the upstream holds the request
        if requests_seen(upstream, model):
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await upstream.wait_cancelled(model, within=1.0)
