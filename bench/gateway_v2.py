"""Completions v2 through Emmaus vs the same scripted upstream called directly, in one run.

Prints, per mode (non-streaming, streaming) and concurrency (1, 32): p50/p99 latency of each
path, the latency Emmaus adds, and the throughput ratio. Run: `make bench` or
`python -m bench.gateway_v2 [--requests N]`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Awaitable, Callable

import aiohttp
import orjson
import uvloop
from rich.console import Console
from rich.table import Table

from bench.harness import Run, drive, serve_emmaus
from emmaus.testing import serve_upstream_process

CATALOG = """
[[models]]
id = "bench-model"
family = "open source"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "fixed"
context_window = 32000
capabilities = ["streaming"]
"""
QUESTION = [{"role": "user", "content": "What does the word grace mean?"}]


def non_streaming(
    url: str, body: dict, headers: dict[str, str]
) -> Callable[[aiohttp.ClientSession], Awaitable[float]]:
    payload = orjson.dumps(body)
    headers = {**headers, "Content-Type": "application/json"}

    async def call(client: aiohttp.ClientSession) -> float:
        started = time.perf_counter()
        async with client.post(url, data=payload, headers=headers) as response:
            response.raise_for_status()
            await response.read()
        return (time.perf_counter() - started) * 1000

    return call


def streaming_ttft(
    url: str, body: dict, headers: dict[str, str]
) -> Callable[[aiohttp.ClientSession], Awaitable[float]]:
    """Latency to the first content token; the stream is still read to the end."""

    payload = orjson.dumps({**body, "stream": True})
    headers = {**headers, "Content-Type": "application/json"}

    async def call(client: aiohttp.ClientSession) -> float:
        started = time.perf_counter()
        first = None
        async with client.post(url, data=payload, headers=headers) as response:
            response.raise_for_status()
            async for line in response.content:
                if first is None and b'"content":"' in line and b'"content":""' not in line:
                    first = time.perf_counter()
        return ((first or time.perf_counter()) - started) * 1000

    return call


async def measure(requests: int) -> list[tuple[str, int, Run, Run]]:
    results = []
    with (
        serve_upstream_process(tokens=32, token_size=5) as upstream,
        serve_emmaus(CATALOG.format(base=upstream.base_url)) as emmaus,
    ):
        direct_url = f"{upstream.base_url}/chat/completions"
        emmaus_url = f"{emmaus.base_url}/ai/v2/chat/completions"
        direct_body = {"model": "fixed", "messages": QUESTION}
        emmaus_body = {"model": "bench-model", "messages": QUESTION}
        for mode, make in (
            ("non-streaming", non_streaming),
            ("streaming TTFT", streaming_ttft),
        ):
            for concurrency in (1, 32):
                n = requests if concurrency == 1 else requests * 4
                direct = await drive(
                    make(direct_url, direct_body, {}), concurrency=concurrency, requests=n
                )
                gateway = await drive(
                    make(emmaus_url, emmaus_body, emmaus.headers),
                    concurrency=concurrency,
                    requests=n,
                )
                results.append((mode, concurrency, direct, gateway))
    return results


def report(results: list[tuple[str, int, Run, Run]]) -> None:
    table = Table(title="Emmaus vs the upstream called directly (same scripted upstream, one run)")
    for column in (
        "mode",
        "conc.",
        "direct p50",
        "emmaus p50",
        "added p50",
        "direct p99",
        "emmaus p99",
        "added p99",
        "direct req/s",
        "emmaus req/s",
        "req/s ratio",
        "errors",
    ):
        table.add_column(column, justify="right")
    for mode, concurrency, direct, gateway in results:
        table.add_row(
            mode,
            str(concurrency),
            f"{direct.p50:.2f} ms",
            f"{gateway.p50:.2f} ms",
            f"{gateway.p50 - direct.p50:+.2f} ms",
            f"{direct.pct(99):.2f} ms",
            f"{gateway.pct(99):.2f} ms",
            f"{gateway.pct(99) - direct.pct(99):+.2f} ms",
            f"{direct.rps:.0f}",
            f"{gateway.rps:.0f}",
            f"{gateway.rps / direct.rps:.2f}",
            str(direct.errors + gateway.errors),
        )
    Console(width=220).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500, help="requests at concurrency 1")
    args = parser.parse_args()
    report(uvloop.run(measure(args.requests)))


if __name__ == "__main__":
    main()
