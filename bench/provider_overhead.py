"""What an upstream call costs through the OpenAIProvider, next to a bare `aiohttp.ClientSession`
post (the provider's transport) and a bare `httpx.AsyncClient` post, against the scripted
upstream in a subprocess. Sequential calls interleaved in blocks so drift hits every path alike
(wall time and client CPU per call), then concurrent non-streaming calls at each concurrency
(client CPU per call, calls/s, p50). Run: `python -m bench.provider_overhead [--requests N]`."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
import orjson
import uvloop

from emmaus.catalog import ModelSpec
from emmaus.config import Settings
from emmaus.engine.providers.openai_compat.provider import OpenAIProvider
from emmaus.engine.types import GenerationParams, Message
from emmaus.testing import serve_upstream_process

BLOCK = 100
CONCURRENCY = (8, 64)
Call = Callable[[], Awaitable[object]]


def spec(base_url: str) -> ModelSpec:
    return ModelSpec(
        id="bench",
        name="bench",
        family="open source",
        tier=1,
        provider="openai",
        vendor="scripted",
        context_window=32000,
        max_output_tokens=512,
        input_cost_per_1k=0.0,
        output_cost_per_1k=0.0,
        capabilities=frozenset({"streaming"}),
        base_url=base_url,
        upstream_model="fixed",
    )


async def sequential(
    calls: dict[str, Call], requests: int
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Wall time of each call (µs), and client CPU per call (µs), per path."""
    timings: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, float] = dict.fromkeys(calls, 0.0)
    for call in calls.values():  # warm-up: connections, caches
        for _ in range(50):
            await call()
    for _ in range(max(1, requests // BLOCK)):
        for name, call in calls.items():
            block_cpu = time.process_time()
            for _ in range(BLOCK):
                started = time.perf_counter()
                await call()
                timings[name].append((time.perf_counter() - started) * 1e6)
            cpu[name] += time.process_time() - block_cpu
    return timings, {name: spent / len(timings[name]) * 1e6 for name, spent in cpu.items()}


async def concurrent(call: Call, concurrency: int, requests: int) -> tuple[float, float, float]:
    """Client CPU per call (µs), calls/s and p50 (µs) with `concurrency` calls in flight."""
    timings: list[float] = []

    async def worker(todo: range, record: bool) -> None:
        for _ in todo:
            started = time.perf_counter()
            await call()
            if record:
                timings.append((time.perf_counter() - started) * 1e6)

    await asyncio.gather(
        *(worker(range(200 // concurrency + 1), False) for _ in range(concurrency))
    )
    each = max(1, requests // concurrency)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(range(each), True) for _ in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = each * concurrency
    return cpu / done * 1e6, done / wall, statistics.median(timings)


def report(title: str, timings: dict[str, list[float]], cpu: dict[str, float]) -> None:
    print(f"{title}: {len(timings['provider'])} sequential calls each (µs)")
    for name, values in timings.items():
        print(
            f"  {name:9} mean {statistics.fmean(values):7.1f}  "
            f"p50 {statistics.median(values):7.1f}  "
            f"p99 {statistics.quantiles(values, n=100)[98]:7.1f}  "
            f"client CPU {cpu[name]:7.1f}"
        )
    for bare in ("aiohttp", "httpx"):
        p50 = statistics.median(timings["provider"]) - statistics.median(timings[bare])
        spent = cpu["provider"] - cpu[bare]
        print(f"  provider - {bare:7}: p50 {p50:+7.1f}, CPU {spent:+7.1f}")


async def main(requests: int) -> None:
    with serve_upstream_process(tokens=32, token_size=5) as upstream:
        model = spec(upstream.base_url)
        messages = [Message("user", "What does the word grace mean?")]
        params = GenerationParams(max_tokens=256, temperature=0.7)
        settings = Settings()
        provider = OpenAIProvider(settings)
        url = f"{upstream.base_url}/chat/completions"
        body = {
            "model": "fixed",
            "messages": [{"role": "user", "content": "What does the word grace mean?"}],
            "max_tokens": 256,
            "temperature": 0.7,
        }
        stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        headers = {"content-type": "application/json"}
        limits = httpx.Limits(max_connections=settings.upstream_max_connections)
        connector = aiohttp.TCPConnector(limit=settings.upstream_max_connections)
        async with (
            httpx.AsyncClient(limits=limits) as client,
            aiohttp.ClientSession(connector=connector) as session,
        ):

            async def bare_httpx() -> object:
                response = await client.post(url, content=orjson.dumps(body), headers=headers)
                return response.content

            async def bare_httpx_stream() -> object:
                payload = orjson.dumps(stream_body)
                async with client.stream("POST", url, content=payload, headers=headers) as r:
                    async for _ in r.aiter_bytes():
                        pass

            async def bare_aiohttp() -> object:
                async with session.post(url, data=orjson.dumps(body), headers=headers) as r:
                    return await r.read()

            async def bare_aiohttp_stream() -> object:
                payload = orjson.dumps(stream_body)
                async with session.post(url, data=payload, headers=headers) as r:
                    async for _ in r.content.iter_any():
                        pass

            async def provided() -> object:
                return await provider.complete(model, messages, params)

            async def provided_stream() -> object:
                return [d async for d in provider.stream(model, messages, params)]

            paths = {"httpx": bare_httpx, "aiohttp": bare_aiohttp, "provider": provided}
            complete = await sequential(paths, requests)
            streams = await sequential(
                {
                    "httpx": bare_httpx_stream,
                    "aiohttp": bare_aiohttp_stream,
                    "provider": provided_stream,
                },
                requests,
            )
            rows = {
                (name, c): await concurrent(call, c, requests)
                for c in CONCURRENCY
                for name, call in paths.items()
            }
        await provider.aclose()

    report("non-streaming", *complete)
    report("streaming, 32 tokens", *streams)
    print(f"concurrent non-streaming calls ({requests} per row; one pool of 256 connections)")
    for (name, c), (cpu, rate, p50) in rows.items():
        print(f"  {name:9} c={c:3}: CPU {cpu:6.0f} µs/call, {rate:5.0f} calls/s, p50 {p50:7.0f} µs")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    uvloop.run(main(parser.parse_args().requests))
