"""The limiter itself, on both back ends: exact admission under concurrency, token budgets,
Retry-After, headers, and the sliding window (with a controllable clock, in-process)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from emmaus.auth.ratelimit import MemoryRateLimiter, RateLimiter, RateLimiterUnavailable
from emmaus.auth.ratelimit_redis import RedisRateLimiter


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    if request.param == "memory":
        made: RateLimiter = MemoryRateLimiter()
    else:
        url = request.getfixturevalue("redis_url")
        made = RedisRateLimiter(url, prefix=request.getfixturevalue("redis_prefix"))
    yield made
    await made.aclose()


async def test_parallel_admission_is_exact(limiter: RateLimiter) -> None:
    decisions = await asyncio.gather(*(limiter.acquire("emc_a", 20, None) for _ in range(50)))
    admitted = [d for d in decisions if d.allowed]
    assert len(admitted) == 20
    assert sorted(d.remaining_requests for d in admitted) == list(range(20))
    refused = [d for d in decisions if not d.allowed]
    assert all(d.exceeded == "requests" and 0 < d.retry_after <= 60 for d in refused)
    other = await limiter.acquire("emc_b", 20, None)  # limits are per key
    assert other.allowed and other.remaining_requests == 19


async def test_headers(limiter: RateLimiter) -> None:
    ok = await limiter.acquire("emc_h", 2, 1000)
    assert ok.headers() == {
        "x-ratelimit-limit-requests": "2",
        "x-ratelimit-remaining-requests": "1",
        "x-ratelimit-reset-requests": "60",
        "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-remaining-tokens": "1000",
        "x-ratelimit-reset-tokens": "0",
    }
    await limiter.acquire("emc_h", 2, 1000)
    refused = await limiter.acquire("emc_h", 2, 1000)
    headers = refused.headers()
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["Retry-After"] == headers["X-RateLimit-Reset"]
    assert 1 <= int(headers["Retry-After"]) <= 60


async def test_token_budget(limiter: RateLimiter) -> None:
    first = await limiter.acquire("emc_t", None, 100)
    assert first.allowed and first.remaining_tokens == 100
    assert "x-ratelimit-limit-requests" not in first.headers()  # unlimited: no headers
    await limiter.record_tokens("emc_t", 60)
    second = await limiter.acquire("emc_t", None, 100)
    assert second.allowed and second.remaining_tokens == 40
    await limiter.record_tokens("emc_t", 45)  # over budget after the fact: allowed to finish
    third = await limiter.acquire("emc_t", None, 100)
    assert not third.allowed
    assert third.exceeded == "tokens"
    assert third.remaining_tokens == 0
    assert 0 < third.retry_after <= 60
    await limiter.record_tokens("emc_t", 0)  # nothing to record


async def test_unlimited(limiter: RateLimiter) -> None:
    decisions = [await limiter.acquire("emc_u", None, None) for _ in range(30)]
    assert all(d.allowed for d in decisions)
    assert decisions[-1].headers() == {}


async def test_lowered_limit_waits_for_enough_slots(limiter: RateLimiter) -> None:
    for _ in range(5):
        assert (await limiter.acquire("emc_l", 10, None)).allowed
    refused = await limiter.acquire("emc_l", 3, None)
    assert not refused.allowed and refused.remaining_requests == 0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_sliding_window_in_process() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    for _ in range(3):
        assert (await limiter.acquire("k", 3)).allowed
        clock.now += 10
    refused = await limiter.acquire("k", 3)  # at t=30: the first admission leaves at t=60
    assert not refused.allowed and refused.retry_after == pytest.approx(30)
    clock.now = 1000.0 + 60  # exactly one window after the first: one slot back
    assert (await limiter.acquire("k", 3)).allowed
    assert not (await limiter.acquire("k", 3)).allowed
    clock.now += 20  # t=80: the admissions of t=10 and t=20 have left
    decision = await limiter.acquire("k", 3)
    assert decision.allowed and decision.remaining_requests == 1


async def test_token_window_slides_in_process() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    await limiter.acquire("k", None, 100)
    await limiter.record_tokens("k", 70)
    clock.now += 30
    await limiter.record_tokens("k", 50)
    refused = await limiter.acquire("k", None, 100)
    assert not refused.allowed and refused.retry_after == pytest.approx(30)  # 70 must expire
    clock.now += 30
    assert (await limiter.acquire("k", None, 100)).remaining_tokens == 50


async def test_idle_keys_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock=clock)
    for i in range(limiter.SWEEP_EVERY - 1):
        await limiter.acquire(f"ip-{i}", 5)
    clock.now += 61
    await limiter.acquire("last", 5)
    assert set(limiter._requests) == {"last"}


async def test_unreachable_redis_refuses_instead_of_letting_through() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0")
    try:
        with pytest.raises(RateLimiterUnavailable):
            await limiter.acquire("emc_a", 10, 10)
        with pytest.raises(RateLimiterUnavailable):
            await limiter.record_tokens("emc_a", 5)
    finally:
        await limiter.aclose()


async def test_parallel_reservations_overshoot_by_one_at_most(limiter: RateLimiter) -> None:
    """30 calls of ~100 tokens against 300 a minute: the check and the hold are one step."""
    decisions = await asyncio.gather(*(limiter.reserve("emc_r", 300, 100) for _ in range(30)))
    held = [d for d in decisions if d.allowed]
    assert len(held) == 3 and all(d.reservation for d in held)
    refused = [d for d in decisions if not d.allowed]
    assert refused and all(d.exceeded == "tokens" and d.retry_after > 0 for d in refused)
    assert not (await limiter.acquire("emc_r", None, 300)).allowed


async def test_settling_replaces_the_estimate(limiter: RateLimiter) -> None:
    first = await limiter.reserve("emc_s", 300, 250)
    assert first.allowed and first.reservation
    await limiter.settle("emc_s", first.reservation, 20)  # the call used far less
    second = await limiter.reserve("emc_s", 300, 250)
    assert second.allowed and second.remaining_tokens == 300 - 270
    assert second.reservation
    await limiter.settle("emc_s", second.reservation, 0)  # a failed call used none
    check = await limiter.acquire("emc_s", None, 300)
    assert check.remaining_tokens == 280
