"""What the OpenAIProvider layer costs per call, over a bare `httpx.AsyncClient` post, against
the scripted upstream in a subprocess. Sequential calls, interleaved in blocks so drift hits
both paths alike. Run: `python -m bench.provider_overhead [--requests 2000]`."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
import orjson
import uvloop

from emmaus.catalog import ModelSpec
from emmaus.config import Settings
from emmaus.engine.providers.openai_compat import OpenAIProvider
from emmaus.engine.types import GenerationParams, Message
from emmaus.testing import serve_upstream_process

BLOCK = 100


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
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in calls}
    for call in calls.values():  # warm-up: connections, caches
        for _ in range(50):
            await call()
    for _ in range(max(1, requests // BLOCK)):
        for name, call in calls.items():
            for _ in range(BLOCK):
                started = time.perf_counter()
                await call()
                timings[name].append((time.perf_counter() - started) * 1e6)
    return timings


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

    for title, timings in (("non-streaming", complete), ("streaming, 32 tokens", streams)):
        print(f"{title}: {len(timings['httpx'])} sequential calls each (µs)")
        for name, values in timings.items():
            print(
                f"  {name:9} mean {statistics.fmean(values):7.1f}  "
                f"p50 {statistics.median(values):7.1f}  "
                f"p99 {statistics.quantiles(values, n=100)[98]:7.1f}"
            )
        mean = statistics.fmean(timings["provider"]) - statistics.fmean(timings["httpx"])
        p50 = statistics.median(timings["provider"]) - statistics.median(timings["httpx"])
        print(f"  provider overhead: mean {mean:+.1f} µs, p50 {p50:+.1f} µs per call")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    uvloop.run(main(parser.parse_args().requests))
