"""What a hostile upload costs the others: p50/p99 of ordinary v2 completions from one client
while another uploads, over and over, a 15 KB PDF whose content stream inflates to 4 MB of text
(the file that once cost 192 s of CPU and 1.4 GB), against the same load with no upload, in one
run. Also the server's CPU per bomb and how each upload is answered.

Run: `python -m bench.upload_isolation [--seconds 20]`; results in `results/upload_isolation.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import psutil
from tests.grounding.test_upload_bounds import inflating_pdf

from bench.harness import serve_emmaus
from emmaus.testing import serve_upstream_process

RESULTS = Path(__file__).parent / "results"
CATALOG = """
[[models]]
id = "echo"
family = "open source"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo"
context_window = 32000
capabilities = ["streaming"]
"""
ASK = {"messages": [{"role": "user", "content": "Who wrote Romans?"}], "model": "echo"}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def completions(session: aiohttp.ClientSession, url: str, until: float) -> list[float]:
    took = []
    while time.monotonic() < until:
        started = time.perf_counter()
        async with session.post(f"{url}/ai/v2/chat/completions", json=ASK) as response:
            await response.read()
            assert response.status == 200, response.status
        took.append((time.perf_counter() - started) * 1000)
    return took


async def bombs(session: aiohttp.ClientSession, url: str, until: float) -> list[int]:
    bomb = inflating_pdf(4 << 20)
    statuses = []
    while time.monotonic() < until:
        form = aiohttp.FormData()
        form.add_field("publisher", "Bombs")
        form.add_field("file", bomb, filename=f"bomb-{len(statuses)}.pdf")
        async with session.post(f"{url}/ai/v2/library/documents", data=form) as response:
            await response.read()
            statuses.append(response.status)
    return statuses


async def measure(seconds: float) -> dict[str, object]:
    with ExitStack() as stack:
        upstream = stack.enter_context(serve_upstream_process(tokens=8, token_size=4))
        emmaus = stack.enter_context(serve_emmaus(CATALOG.format(base=upstream.base_url)))
        async with aiohttp.ClientSession(headers=emmaus.headers) as session:
            await completions(session, emmaus.base_url, time.monotonic() + 2)  # warm up
            quiet = await completions(session, emmaus.base_url, time.monotonic() + seconds)
            server = psutil.Process(emmaus.pid)
            # user + system of the server and of its reaped children (the reading processes)
            cpu_before = sum(server.cpu_times()[:4])
            until = time.monotonic() + seconds
            loud, statuses = await asyncio.gather(
                completions(session, emmaus.base_url, until),
                bombs(session, emmaus.base_url, until),
            )
            cpu = sum(server.cpu_times()[:4]) - cpu_before
    return {
        "seconds": seconds,
        "quiet": {"requests": len(quiet), "p50_ms": statistics.median(quiet),
                  "p99_ms": percentile(quiet, 0.99)},
        "during_bombs": {"requests": len(loud), "p50_ms": statistics.median(loud),
                         "p99_ms": percentile(loud, 0.99)},
        "bombs": len(statuses),
        "bomb_statuses": sorted(set(statuses)),
        "server_cpu_seconds_per_bomb": cpu / max(1, len(statuses)),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    result = asyncio.run(measure(args.seconds))
    quiet, loud = result["quiet"], result["during_bombs"]
    print(json.dumps(result, indent=2))
    print(
        f"p99 {quiet['p99_ms']:.2f} ms alone, {loud['p99_ms']:.2f} ms during bomb uploads "  # type: ignore[index]
        f"({loud['p99_ms'] / quiet['p99_ms']:.2f}x); "  # type: ignore[index]
        f"{result['bombs']} bombs answered {result['bomb_statuses']}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "upload_isolation.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
