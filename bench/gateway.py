"""Emmaus vs LiteLLM vs the upstream called directly: one scripted upstream, both gateways in
front of it, the same aiohttp load generator for all three, in one run.

Measures p50/p99 latency (whole response; time to first token when streaming), the latency each
gateway adds over the direct call, and throughput, at concurrency 1, 32 and 128. Prints the
Emmaus/LiteLLM ratios, writes `bench/results/gateway.json` and the charts in `docs/img/`.
Run: `make bench` or `python -m bench.gateway [--requests N] [--no-litellm]`."""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import uvloop
from rich.console import Console
from rich.table import Table

from bench.harness import LITELLM_VERSION, Gateway, Run, drive, serve_emmaus, serve_litellm
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
CONCURRENCY = (1, 32, 128)
TOKENS = 32  # per answer, 5 characters each
Call = Callable[[aiohttp.ClientSession], Awaitable[float]]


def non_streaming(target: Gateway) -> Call:
    payload = orjson.dumps({"model": target.model, "messages": QUESTION})
    headers = {**target.headers, "Content-Type": "application/json"}

    async def call(client: aiohttp.ClientSession) -> float:
        started = time.perf_counter()
        async with client.post(target.url, data=payload, headers=headers) as response:
            response.raise_for_status()
            body = await response.read()
        if b'"finish_reason":"stop"' not in body and b'"finish_reason": "stop"' not in body:
            raise RuntimeError(f"unfinished answer: {body[:200]!r}")
        return (time.perf_counter() - started) * 1000

    return call


def _has_content(line: bytes) -> bool:
    return (b'"content":"' in line and b'"content":""' not in line) or (
        b'"content": "' in line and b'"content": ""' not in line
    )


def streaming_ttft(target: Gateway) -> Call:
    """Latency to the first content token; the stream is read to the end and must end well."""
    payload = orjson.dumps({"model": target.model, "messages": QUESTION, "stream": True})
    headers = {**target.headers, "Content-Type": "application/json"}

    async def call(client: aiohttp.ClientSession) -> float:
        started = time.perf_counter()
        first = None
        done = False
        async with client.post(target.url, data=payload, headers=headers) as response:
            response.raise_for_status()
            async for line in response.content:
                if first is None and _has_content(line):
                    first = time.perf_counter()
                elif line.startswith(b"data: [DONE]"):
                    done = True
        if first is None or not done:
            raise RuntimeError("stream without content or without [DONE]")
        return (first - started) * 1000

    return call


@dataclass
class Cell:
    mode: str
    concurrency: int
    runs: dict[str, Run]  # by target name: direct, emmaus, litellm

    def added(self, name: str, q: float) -> float:
        direct = self.runs["direct"]
        run = self.runs[name]
        base = direct.p50 if q == 50 else direct.pct(q)
        value = run.p50 if q == 50 else run.pct(q)
        return value - base

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "concurrency": self.concurrency}
        for name, run in self.runs.items():
            out[name] = {
                "p50_ms": round(run.p50, 3),
                "p99_ms": round(run.pct(99), 3),
                "rps": round(run.rps, 1),
                "requests": len(run.latencies_ms),
                "errors": run.errors,
            }
            if run.cpu_ms_per_request is not None:
                out[name]["cpu_ms_per_request"] = round(run.cpu_ms_per_request, 3)
            if name != "direct":
                out[name]["added_p50_ms"] = round(self.added(name, 50), 3)
                out[name]["added_p99_ms"] = round(self.added(name, 99), 3)
        if "litellm" in self.runs:
            out["ratios"] = ratios(self)
        return out


def ratios(cell: Cell) -> dict[str, float]:
    """How many times lower Emmaus' added latency is, and how many times its throughput."""

    def lower(q: float) -> float:
        return cell.added("litellm", q) / max(cell.added("emmaus", q), 0.01)

    out = {
        "added_p50_x_lower": round(lower(50), 2),
        "added_p99_x_lower": round(lower(99), 2),
        "throughput_x": round(cell.runs["emmaus"].rps / cell.runs["litellm"].rps, 2),
    }
    emmaus_cpu = cell.runs["emmaus"].cpu_ms_per_request
    litellm_cpu = cell.runs["litellm"].cpu_ms_per_request
    if emmaus_cpu and litellm_cpu:
        out["cpu_per_request_x_lower"] = round(litellm_cpu / emmaus_cpu, 2)
    return out


def requests_at(concurrency: int, base: int) -> int:
    return base if concurrency == 1 else base * 4


async def measure(base_requests: int, with_litellm: bool) -> list[Cell]:
    cells: list[Cell] = []
    with ExitStack() as stack:
        upstream = stack.enter_context(serve_upstream_process(tokens=TOKENS, token_size=5))
        emmaus = stack.enter_context(serve_emmaus(CATALOG.format(base=upstream.base_url)))
        targets = [
            Gateway("direct", f"{upstream.base_url}/chat/completions", "fixed", {}),
            Gateway(
                "emmaus",
                f"{emmaus.base_url}/ai/v2/chat/completions",
                "bench-model",
                emmaus.headers,
                emmaus.pid,
            ),
        ]
        if with_litellm:
            targets.append(stack.enter_context(serve_litellm(upstream.base_url)))
        for mode, make in (("non-streaming", non_streaming), ("streaming TTFT", streaming_ttft)):
            for concurrency in CONCURRENCY:
                n = requests_at(concurrency, base_requests)
                runs = {}
                for target in targets:
                    # LiteLLM is several times slower: a quarter of the requests still gives
                    # stable percentiles and keeps the run to minutes.
                    count = n if target.name != "litellm" or concurrency == 1 else n // 2
                    runs[target.name] = await drive(
                        make(target),
                        concurrency=concurrency,
                        requests=count,
                        warmup=50,
                        pid=target.pid,
                    )
                cell = Cell(mode, concurrency, runs)
                cells.append(cell)
                Console().print(f"[dim]{mode} c={concurrency}: {summary(cell)}[/dim]")
    return cells


def summary(cell: Cell) -> str:
    return ", ".join(
        f"{name} p50 {run.p50:.2f} ms {run.rps:.0f}/s err {run.errors}"
        for name, run in cell.runs.items()
    )


def report(cells: list[Cell]) -> None:
    table = Table(title="Added latency over the upstream called directly, and throughput")
    columns = ["mode", "conc."]
    for name in ("emmaus", "litellm"):
        columns += [f"{name} +p50", f"{name} +p99", f"{name} req/s", f"{name} CPU/req"]
    columns += ["direct req/s", "+p50 x lower", "+p99 x lower", "req/s x", "CPU x", "errors"]
    for column in columns:
        table.add_column(column, justify="right")
    for cell in cells:
        row = [cell.mode, str(cell.concurrency)]
        for name in ("emmaus", "litellm"):
            if name in cell.runs:
                cpu = cell.runs[name].cpu_ms_per_request
                row += [
                    f"{cell.added(name, 50):.2f} ms",
                    f"{cell.added(name, 99):.2f} ms",
                    f"{cell.runs[name].rps:.0f}",
                    "-" if cpu is None else f"{cpu:.2f} ms",
                ]
            else:
                row += ["-", "-", "-", "-"]
        row.append(f"{cell.runs['direct'].rps:.0f}")
        if "litellm" in cell.runs:
            r = ratios(cell)
            row += [
                f"{r['added_p50_x_lower']:.1f}",
                f"{r['added_p99_x_lower']:.1f}",
                f"{r['throughput_x']:.1f}",
                f"{r.get('cpu_per_request_x_lower', float('nan')):.1f}",
            ]
        else:
            row += ["-", "-", "-", "-"]
        row.append(str(sum(run.errors for run in cell.runs.values())))
        table.add_row(*row)
    Console(width=240).print(table)


def save(cells: list[Cell], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "gateway",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "litellm_version": LITELLM_VERSION,
        "tokens_per_answer": TOKENS,
        "cells": [cell.as_dict() for cell in cells],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests at concurrency 1")
    parser.add_argument("--no-litellm", action="store_true", help="Emmaus vs direct only")
    parser.add_argument("--out", type=Path, default=RESULTS / "gateway.json")
    parser.add_argument("--no-charts", action="store_true")
    args = parser.parse_args()
    cells = uvloop.run(measure(args.requests, not args.no_litellm))
    report(cells)
    save(cells, args.out)
    if not args.no_charts:
        from bench.charts import gateway_charts

        gateway_charts(args.out)


if __name__ == "__main__":
    main()
