"""A bounded soak: a few minutes of mixed load on a real `emmaus serve` (v2 JSON, v2 SSE and v1
turns over the scripted upstream), with the server's RSS sampled. Memory should level off once
warm: growth after the warm-up under 5%, and no errors.

Run: `python -m bench.soak [--seconds 180] [--warmup 45] [--concurrency 16]`."""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from pathlib import Path

import aiohttp
import orjson
import psutil
import uvloop

from bench.harness import Emmaus, serve_emmaus
from emmaus.testing import serve_upstream_process

RESULTS = Path(__file__).parent / "results"
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


class Load:
    def __init__(self, emmaus: Emmaus) -> None:
        self.emmaus = emmaus
        self.headers = {**emmaus.headers, "Content-Type": "application/json"}
        self.done = 0
        self.errors = 0

    async def v2(self, client: aiohttp.ClientSession, stream: bool) -> None:
        body = orjson.dumps({"model": "bench-model", "messages": QUESTION, "stream": stream})
        url = f"{self.emmaus.base_url}/ai/v2/chat/completions"
        async with client.post(url, data=body, headers=self.headers) as response:
            response.raise_for_status()
            text = await response.read()
        if stream and not text.endswith(b"data: [DONE]\n\n"):
            raise RuntimeError("stream did not finish")

    async def v1(self, client: aiohttp.ClientSession, chat: list[str | None]) -> None:
        body = {"query": "What does the word grace mean?", "enable_suggestions": 0}
        if chat[0]:
            body["chat_id"] = chat[0]
        url = f"{self.emmaus.base_url}/ai/v1/message"
        async with client.post(url, data=orjson.dumps(body), headers=self.headers) as response:
            response.raise_for_status()
            answer = orjson.loads(await response.read())
        chat[0] = answer["chat_id"]

    async def worker(self, client: aiohttp.ClientSession, until: float) -> None:
        chat: list[str | None] = [None]
        for turn in itertools.count():
            if time.monotonic() >= until:
                return
            if turn % 50 == 0:
                chat[0] = None  # a fresh chat now and then: histories stay short
            try:
                kind = turn % 10
                if kind == 0:
                    await self.v1(client, chat)
                else:
                    await self.v2(client, stream=kind % 2 == 1)
                self.done += 1
            except Exception:
                self.errors += 1


async def soak(emmaus: Emmaus, seconds: float, concurrency: int) -> tuple[list, Load]:
    process = psutil.Process(emmaus.pid)
    load = Load(emmaus)
    samples: list[tuple[float, float, int]] = []  # (s since start, RSS MiB, requests done)
    started = time.monotonic()
    until = started + seconds

    async def sample() -> None:
        while time.monotonic() < until:
            rss = process.memory_info().rss / 2**20
            samples.append((round(time.monotonic() - started, 1), round(rss, 2), load.done))
            await asyncio.sleep(2)

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as client:
        await asyncio.gather(sample(), *(load.worker(client, until) for _ in range(concurrency)))
    return samples, load


def growth(samples: list[tuple[float, float, int]], warmup: float) -> tuple[float, float, float]:
    """RSS just after the warm-up, at the end (medians of a few samples), and the growth."""
    after = [rss for t, rss, _ in samples if t >= warmup]
    first, last = statistics.median(after[:5]), statistics.median(after[-5:])
    return first, last, (last - first) / first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=180)
    parser.add_argument("--warmup", type=float, default=45)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with (
        serve_upstream_process(tokens=32, token_size=5) as upstream,
        serve_emmaus(CATALOG.format(base=upstream.base_url)) as emmaus,
    ):
        samples, load = uvloop.run(soak(emmaus, args.seconds, args.concurrency))
    first, last, grew = growth(samples, args.warmup)
    print(
        f"{load.done} requests in {args.seconds:.0f} s ({load.done / args.seconds:.0f}/s), "
        f"{load.errors} errors; RSS after warm-up {first:.1f} MiB, at the end {last:.1f} MiB: "
        f"{grew * 100:+.2f}%"
    )
    RESULTS.mkdir(exist_ok=True)
    document = {
        "benchmark": "soak",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": args.seconds,
        "warmup_s": args.warmup,
        "concurrency": args.concurrency,
        "requests": load.done,
        "errors": load.errors,
        "rss_after_warmup_mib": round(first, 2),
        "rss_end_mib": round(last, 2),
        "growth_pct": round(grew * 100, 2),
        "samples": samples,
    }
    (RESULTS / "soak.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
