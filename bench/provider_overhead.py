"""What the OpenAIProvider layer costs per call, over a bare `httpx.AsyncClient` post, against
the scripted upstream in a subprocess. Sequential calls, interleaved in blocks so drift hits
both paths alike. Then concurrent calls through the provider with its sharded connection pools
vs one httpx pool (client CPU per call). Run: `python -m bench.provider_overhead [--requests N]`."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator

import httpx
import orjson
import uvloop

from emmaus.catalog import ModelSpec
from emmaus.config import Settings
from emmaus.engine.providers.http_pool import SHARD_SIZE
from emmaus.engine.providers.openai_compat import OpenAIProvider
from emmaus.engine.types import GenerationParams, Message
from emmaus.testing import serve_upstream_process

BLOCK = 100
CONCURRENCY = (8, 64)


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


async def measure(
    calls: dict[str, Callable[[], Awaitable[object]]], requests: int
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


async def main(requests: int) -> None:
    with serve_upstream_process(tokens=32, token_size=5) as upstream:
        model = spec(upstream.base_url)
        messages = [Message("user", "What does the word grace mean?")]
        params = GenerationParams(max_tokens=256, temperature=0.7)
        provider = OpenAIProvider(Settings())
        url = f"{upstream.base_url}/chat/completions"
        body = {
            "model": "fixed",
            "messages": [{"role": "user", "content": "What does the word grace mean?"}],
            "max_tokens": 256,
            "temperature": 0.7,
        }
        stream_body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        headers = {"content-type": "application/json"}
        async with httpx.AsyncClient() as client:

            async def bare() -> object:
                response = await client.post(url, content=orjson.dumps(body), headers=headers)
                return response.content

            async def bare_stream() -> object:
                payload = orjson.dumps(stream_body)
                async with client.stream("POST", url, content=payload, headers=headers) as r:
                    async for _ in r.aiter_bytes():
                        pass

            async def provided() -> object:
                return await provider.complete(model, messages, params)

            async def provided_stream() -> object:
                return [d async for d in provider.stream(model, messages, params)]

            complete = await measure({"httpx": bare, "provider": provided}, requests)
            streams = await measure({"httpx": bare_stream, "provider": provided_stream}, requests)
        await provider.aclose()
        pools = {}
        for label, shard_size in (("sharded pools", SHARD_SIZE), ("one httpx pool", 1 << 16)):
            pools[label] = await concurrent_cpu(model, messages, params, shard_size, requests)

    for title, (timings, cpu) in (("non-streaming", complete), ("streaming, 32 tokens", streams)):
        print(f"{title}: {len(timings['httpx'])} sequential calls each (µs)")
        for name, values in timings.items():
            print(
                f"  {name:9} mean {statistics.fmean(values):7.1f}  "
                f"p50 {statistics.median(values):7.1f}  "
                f"p99 {statistics.quantiles(values, n=100)[98]:7.1f}  "
                f"client CPU {cpu[name]:7.1f}"
            )
        mean = statistics.fmean(timings["provider"]) - statistics.fmean(timings["httpx"])
        p50 = statistics.median(timings["provider"]) - statistics.median(timings["httpx"])
        spent = cpu["provider"] - cpu["httpx"]
        print(f"  provider overhead per call: mean {mean:+.1f}, p50 {p50:+.1f}, CPU {spent:+.1f}")
    print(f"concurrent non-streaming calls through the provider ({requests} per concurrency)")
    for label, rows in pools.items():
        for concurrency, (cpu, rate) in rows.items():
            print(f"  {label:14} c={concurrency:3}: CPU {cpu:6.0f} µs/call, {rate:5.0f} calls/s")


async def concurrent_cpu(
    model: ModelSpec,
    messages: list[Message],
    params: GenerationParams,
    shard_size: int,
    requests: int,
) -> dict[int, tuple[float, float]]:
    """Client CPU per call and calls/s at each concurrency."""
    provider = OpenAIProvider(Settings(), shard_size=shard_size)
    rows = {}
    for concurrency in CONCURRENCY:

        async def worker(todo: Iterator[int]) -> None:
            for _ in todo:
                await provider.complete(model, messages, params)

        warm = iter(range(200))
        await asyncio.gather(*(worker(warm) for _ in range(concurrency)))
        todo = iter(range(requests))
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker(todo) for _ in range(concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        rows[concurrency] = (cpu / requests * 1e6, requests / wall)
    await provider.aclose()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    uvloop.run(main(parser.parse_args().requests))
