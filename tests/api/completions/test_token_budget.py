"""Tokens per minute through a live server: a burst of parallel completions is admitted only as
far as the reservations it makes fit (prompt plus requested output), and finished calls are
settled to what they really used, so the budget frees up again."""

from __future__ import annotations

import asyncio
import math

import httpx
import orjson

from emmaus.config import Settings
from tests.support.auth import bearer_headers

ASK = {
    "messages": [{"role": "user", "content": "Hello there, how are you today?"}],
    "model": "slow-budget",  # 3 s before it answers: admitted calls still run as the rest arrive
    "max_tokens": 60,
}


BODY = orjson.dumps(ASK)
# What each call reserves: its body (~4 bytes a token) plus the 60 tokens it asks for.
RESERVED = len(BODY) // 4 + 1 + ASK["max_tokens"]  # type: ignore[operator]


async def burst(base_url: str, headers: dict[str, str], count: int) -> list[int]:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as client:
        post = {"content": BODY, "headers": {"Content-Type": "application/json"}}
        responses = await asyncio.gather(
            *(client.post("/ai/v2/chat/completions", **post) for _ in range(count))  # type: ignore[arg-type]
        )
    return [r.status_code for r in responses]


def test_a_burst_is_held_to_the_budget(base_url: str, api_settings: Settings) -> None:
    headers = bearer_headers(base_url, api_settings, tpm=300)
    statuses = asyncio.run(burst(base_url, headers, 30))
    admitted = statuses.count(200)
    # A call is admitted while the reservations held are under the budget: at most
    # ceil(300 / RESERVED) of them (3 or 4), never the 30 sent.
    assert 1 <= admitted <= math.ceil(300 / RESERVED), (statuses, RESERVED)
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
