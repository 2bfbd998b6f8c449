"""Admission under load: N parallel requests never let a client past its limit, on one instance
(in-process limiter) and on two uvicorn processes sharing Redis. Admitted vs allowed is exact."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx

from emmaus.config import Settings
from tests.auth.apps import create_client
from tests.auth.conftest import Serve
from tests.auth.instances import uvicorn_process

PARALLEL = 50
RPM = 20


async def fire(urls: list[str], token: str, n: int) -> Counter[int]:
    """`n` requests at once, spread over `urls`; the count of each status code."""
    limits = httpx.Limits(max_connections=4 * n, max_keepalive_connections=4 * n)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(limits=limits, timeout=30, headers=headers) as client:
        responses = await asyncio.gather(
            *(client.get(f"{urls[i % len(urls)]}/ai/v2/slow") for i in range(n))
        )
    return Counter(response.status_code for response in responses)


async def token_for(url: str, client_id: str, secret: str) -> str:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_one_instance_in_process_limiter(serve: Serve) -> None:
    with serve(rate_limit_rpm=RPM) as (url, settings):
        client_id, secret = await asyncio.to_thread(create_client, settings)
        token = await token_for(url, client_id, secret)
        counts = await fire([url], token, PARALLEL)
    print(f"\nin-process: {counts[200]} admitted of {RPM} allowed ({PARALLEL} parallel)")
    assert counts == {200: RPM, 429: PARALLEL - RPM}


async def test_two_instances_share_limits_through_redis(
    postgres_url: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    env = {
        "EMMAUS_DATA_DIR": str(tmp_path / "data"),
        "EMMAUS_DATABASE_URL": postgres_url,
        "EMMAUS_REDIS_URL": redis_url,
        "EMMAUS_REDIS_PREFIX": redis_prefix,
        "EMMAUS_JWT_SECRET": secrets.token_urlsafe(48),  # shared by configuration
        "EMMAUS_RATE_LIMIT_RPM": str(RPM),
    }
    settings = Settings(data_dir=tmp_path / "data", database_url=postgres_url)
    clients = [await asyncio.to_thread(create_client, settings, f"c{i}") for i in range(4)]
    with ExitStack() as stack:
        urls = [
            stack.enter_context(uvicorn_process("tests.auth.apps:create_from_env", env))
            for _ in range(2)
        ]
        # A token from one instance works on the other (shared signing key).
        tokens = [await token_for(urls[i % 2], *creds) for i, creds in enumerate(clients)]
        # One client at a time, then all four at once (4 x 50 requests in flight).
        first = await fire(urls, tokens[0], PARALLEL)
        together = await asyncio.gather(*(fire(urls, t, PARALLEL) for t in tokens[1:]))
    results = [first, *together]
    admitted = sum(c[200] for c in results)
    allowed = RPM * len(results)
    print(f"\nredis, 2 instances: {admitted} admitted of {allowed} allowed ({results})")
    for counts in results:
        assert counts == {200: RPM, 429: PARALLEL - RPM}
