"""Emmaus vs LiteLLM vs the upstream called directly: one scripted upstream, both gateways in
front of it, the same aiohttp load generator for all three, in one run.

Measures p50/p99 latency (whole response; time to first token when streaming), the latency each
gateway adds over the direct call, and throughput, at concurrency 1, 32 and 128. The three
targets run interleaved: each cell is split into rounds, and every round runs each target in a
new random order, so a slow minute of the machine falls on all of them alike. "Added" latency
is a difference of percentiles of separate runs (not paired: an added p99 can even come out
below the added p50); beside it, Emmaus' own account of its time per request, the percentiles
of what its `emmaus_gateway_overhead_seconds` histogram gained over the cell (whole request
minus the time waited on the upstream). Prints the Emmaus/LiteLLM ratios, writes
`bench/results/gateway.json` and the charts in `docs/img/`.
Run: `make bench` or `python -m bench.gateway [--requests N] [--rounds R] [--no-litellm]`."""

from __future__ import annotations

import argparse
import json
import platform
import random
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
from bench.observability_overhead import overhead_buckets, percentiles
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
    runs: dict[str, Run]  # by target name: direct, emmaus, litellm (every round merged)
    own: dict[str, float]  # Emmaus' overhead histogram over the cell: count, p50, p90, p99 ms

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
        out["emmaus"]["own_overhead_ms"] = {k: round(v, 3) for k, v in self.own.items()}
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


def merge(runs: list[Run]) -> Run:
    """The rounds of one target as one run: every latency, errors, wall time and CPU added."""
    cpu = [r.cpu_s for r in runs]
    return Run(
        [latency for r in runs for latency in r.latencies_ms],
        sum(r.errors for r in runs),
        sum(r.wall_s for r in runs),
        None if None in cpu else sum(c for c in cpu if c is not None),
    )


async def measure(
    base_requests: int, rounds: int, with_litellm: bool, levels: tuple[int, ...] = CONCURRENCY
) -> list[Cell]:
    cells: list[Cell] = []
    with ExitStack() as stack:
        upstream = stack.enter_context(serve_upstream_process(tokens=TOKENS, token_size=5))
        # /metrics without a token: the bench reads the overhead histogram around each cell.
        emmaus = stack.enter_context(
            serve_emmaus(CATALOG.format(base=upstream.base_url), {"EMMAUS_METRICS_AUTH": "none"})
        )
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
            for concurrency in levels:
                n = requests_at(concurrency, base_requests)
                parts: dict[str, list[Run]] = {t.name: [] for t in targets}
                before = overhead_buckets(emmaus)
                for round_number in range(rounds):
                    order = list(targets)
                    random.shuffle(order)  # a new order each round
                    for target in order:
                        # LiteLLM is several times slower: half the requests still gives
                        # stable percentiles and keeps the run to minutes.
                        count = n if target.name != "litellm" or concurrency == 1 else n // 2
                        parts[target.name].append(
                            await drive(
                                make(target),
                                concurrency=concurrency,
                                requests=max(1, count // rounds),
                                warmup=50 if round_number == 0 else 10,
                                pid=target.pid,
                            )
                        )
                own = percentiles(before, overhead_buckets(emmaus))
                cell = Cell(mode, concurrency, {k: merge(v) for k, v in parts.items()}, own)
                cells.append(cell)
                Console().print(f"[dim]{mode} c={concurrency}: {summary(cell)}[/dim]")
    return cells


def summary(cell: Cell) -> str:
    own = f"emmaus own p50 {cell.own.get('p50', float('nan')):.2f} ms"
    return (
        own
        + ", "
        + ", ".join(
            f"{name} p50 {run.p50:.2f} ms {run.rps:.0f}/s err {run.errors}"
            for name, run in cell.runs.items()
        )
    )


def report(cells: list[Cell]) -> None:
    table = Table(title="Added latency over the upstream called directly, and throughput")
    columns = ["mode", "conc.", "emmaus own p50", "emmaus own p99"]
    for name in ("emmaus", "litellm"):
        columns += [f"{name} +p50", f"{name} +p99*", f"{name} req/s", f"{name} CPU/req"]
    columns += ["direct req/s", "+p50 x lower", "+p99 x lower", "req/s x", "CPU x", "errors"]
    for column in columns:
        table.add_column(column, justify="right")
    for cell in cells:
        row = [cell.mode, str(cell.concurrency)]
        row += [f"{cell.own.get(q, float('nan')):.2f} ms" for q in ("p50", "p99")]
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
    Console().print(
        "own: Emmaus' emmaus_gateway_overhead_seconds over the cell (whole request minus the "
        "upstream wait, as the server measured it). +p50/+p99*: gateway percentile minus direct "
        "percentile of separate runs, not paired."
    )


def save(cells: list[Cell], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "benchmark": "gateway",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "litellm_version": LITELLM_VERSION,
        "tokens_per_answer": TOKENS,
        "method": "targets interleaved in rounds (a new random order each round); added = "
        "percentile difference of separate runs (not paired); own_overhead_ms = percentiles "
        "of Emmaus' emmaus_gateway_overhead_seconds histogram over the cell",
        "cells": [cell.as_dict() for cell in cells],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400, help="requests at concurrency 1")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per cell")
    parser.add_argument(
        "--concurrency", type=int, nargs="+", default=list(CONCURRENCY), help="levels to run"
    )
    parser.add_argument("--no-litellm", action="store_true", help="Emmaus vs direct only")
    parser.add_argument("--out", type=Path, default=RESULTS / "gateway.json")
    parser.add_argument("--no-charts", action="store_true")
    args = parser.parse_args()
    levels = tuple(args.concurrency)
    cells = uvloop.run(measure(args.requests, args.rounds, not args.no_litellm, levels))
    report(cells)
    save(cells, args.out)
    if not args.no_charts:
        from bench.charts import gateway_charts

        gateway_charts(args.out)


if __name__ == "__main__":
    main()
