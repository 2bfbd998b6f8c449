"""Tokens per minute through a live server: a burst of parallel completions is admitted only as
far as the reservations it makes fit (prompt plus requested output), and finished calls are
settled to what they really used, so the budget frees up again."""

from __future__ import annotations

import asyncio

import httpx

from emmaus.config import Settings
from tests.support.auth import bearer_headers

ASK = {
    "messages": [{"role": "user", "content": "Hello there, how are you today?"}],
    "model": "slow-drip",  # tier-3 drip: every call is still running when the others arrive
    "max_tokens": 60,
}


async def burst(base_url: str, headers: dict[str, str], count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        responses = await asyncio.gather(
            *(client.post("/ai/v2/chat/completions", json=ASK) for _ in range(count))
        )
    return [r.status_code for r in responses]


def test_a_burst_is_held_to_the_budget(base_url: str, api_settings: Settings) -> None:
    headers = bearer_headers(base_url, api_settings, tpm=300)
    statuses = asyncio.run(burst(base_url, headers, 30))
    admitted = statuses.count(200)
    # Each call reserves its body (~40 tokens) plus 60 requested: 300 admits at most 3 of them.
    assert 1 <= admitted <= 3, statuses
    assert statuses.count(429) == 30 - admitted


def test_settled_usage_frees_the_budget(
    http: httpx.Client, base_url: str, api_settings: Settings
) -> None:
    headers = bearer_headers(base_url, api_settings, tpm=400)
    quick = {**ASK, "model": "echo-openai", "max_tokens": 300}  # reserves ~340, uses ~20
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        statuses = [
            client.post("/ai/v2/chat/completions", json=quick).status_code for _ in range(4)
        ]
    assert statuses == [200] * 4  # without settling, the second call would not fit
