"""What metrics and the usage ledger cost per request: the same `emmaus serve` twice, with
`EMMAUS_METRICS=false EMMAUS_USAGE_LEDGER=false` (off) and with both on (the default), in front
of the same scripted upstream, measured in interleaved rounds in one run.

Per mode (JSON, SSE) and concurrency (1, 16): server CPU per request of each (the headline:
barely moved by other load on the machine), p50/p99 latency of each, and their ratios. Beside
them, the gateway's own overhead per cell as the "on" server measures it
(`emmaus_gateway_overhead_seconds`, percentiles of what its histogram gained over the cell) next
to "added p50" by subtraction from the upstream called directly. `--ledger-rows 1000000` first
fills the "on" server's ledger with that many rows, so the numbers show whether a large ledger
slows a call (it should not: writes are batched off the request path into two B-tree indexes).

Server CPU is read from the kernel in 10 ms ticks, so each round must cost the server well over
a second of CPU for a 1% resolution: hence 500+ requests a round.

Run: `python -m bench.observability_overhead [--requests 2000] [--rounds 4] [--ledger-rows N]`."""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.table import Table

from bench.gateway_v2 import QUESTION, non_streaming, streaming_ttft
from bench.harness import Emmaus, Run, drive, serve_emmaus
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
input_cost_per_1k = 0.5
output_cost_per_1k = 1.5
capabilities = ["streaming"]
"""
OFF = {"EMMAUS_METRICS": "false", "EMMAUS_USAGE_LEDGER": "false"}
RESULTS = Path(__file__).parent / "results"
MODES = {"json": non_streaming, "sse": streaming_ttft}


@dataclass
class Cell:
    mode: str
    concurrency: int
    runs: dict[str, list[Run]] = field(default_factory=lambda: {"direct": [], "off": [], "on": []})
    overhead: dict[str, float] = field(default_factory=dict)  # the on server's own histogram

    def latencies(self, target: str) -> list[float]:
        return [x for run in self.runs[target] for x in run.latencies_ms]

    def pct(self, target: str, q: float) -> float:
        ordered = sorted(self.latencies(target))
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0

    def cpu_ms(self, target: str) -> float:
        runs = self.runs[target]
        cpu = sum(run.cpu_s or 0.0 for run in runs)
        answered = sum(len(run.latencies_ms) for run in runs)
        return cpu * 1000 / answered if answered else float("nan")

    def round_ratio(self) -> float:
        """The median over rounds of on/off CPU per request: each round's pair ran back to back,
        so a burst of load elsewhere on the machine moves one round, not the result."""
        ratios = []
        for off, on in zip(self.runs["off"], self.runs["on"], strict=True):
            if off.cpu_ms_per_request and on.cpu_ms_per_request:
                ratios.append(on.cpu_ms_per_request / off.cpu_ms_per_request)
        return statistics.median(ratios) if ratios else float("nan")

    def errors(self) -> int:
        return sum(run.errors for runs in self.runs.values() for run in runs)


def fill_ledger(data_dir: Path, rows: int) -> None:
    """`rows` ledger rows in the server's SQLite file, as a long-running server would have."""
    with sqlite3.connect(data_dir / "emmaus.db") as db:
        start = time.time() - 30 * 86_400
        batch = []
        for i in range(rows):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start + i * 2.5))
            client = f"emc_{i % 500}"
            route = "/ai/v2/chat/completions"
            row = (f"{when}.000000", when[:10], client, "bench-model", route, None, 60, 32)
            batch.append((*row, 0.00008, "ok", 30, 0))
            if len(batch) == 50_000:
                _insert(db, batch)
                batch = []
        _insert(db, batch)


def _insert(db: sqlite3.Connection, batch: list[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT INTO usage_events (created_at, day, client_id, model, route, request_id, "
        "prompt_tokens, completion_tokens, cost_usd, status, latency_ms, streamed) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        batch,
    )


async def measure(
    requests: int, rounds: int, servers: dict[str, Emmaus], upstream: str
) -> list[Cell]:
    cells = []
    for mode, make in MODES.items():
        for concurrency in (1, 16):
            cell = Cell(mode, concurrency)
            n = requests if concurrency == 1 else requests * 3
            direct = {"model": "fixed", "messages": QUESTION}
            gateway = {"model": "bench-model", "messages": QUESTION}
            calls = {"direct": (make(f"{upstream}/chat/completions", direct, {}), None)}
            for name, server in servers.items():
                url = f"{server.base_url}/ai/v2/chat/completions"
                calls[name] = (make(url, gateway, server.headers), server.pid)
            before = overhead_buckets(servers["on"])
            for _ in range(rounds):  # interleaved, in a new order each round
                order = list(calls)
                random.shuffle(order)
                for target in order:
                    call, pid = calls[target]
                    run = await drive(call, concurrency=concurrency, requests=n // rounds, pid=pid)
                    cell.runs[target].append(run)
            cell.overhead = percentiles(before, overhead_buckets(servers["on"]))
            cells.append(cell)
    return cells


def overhead_buckets(server: Emmaus) -> dict[float, float]:
    """`emmaus_gateway_overhead_seconds` buckets (cumulative counts by upper bound)."""
    text = httpx.get(f"{server.base_url}/metrics", headers=server.headers, timeout=10).text
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "emmaus_gateway_overhead_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    bound = float(sample.labels["le"])
                    buckets[bound] = buckets.get(bound, 0.0) + sample.value
    return buckets


def percentiles(before: dict[float, float], after: dict[float, float]) -> dict[str, float]:
    """p50/p90/p99 in ms of what the histogram gained between two scrapes (linear within a
    bucket, as Prometheus' histogram_quantile)."""
    buckets = {bound: after[bound] - before.get(bound, 0.0) for bound in after}
    bounds = sorted(buckets)
    total = buckets[bounds[-1]] if bounds else 0.0
    result: dict[str, float] = {"count": total}
    for q in (50, 90, 99):
        rank, lower, below = total * q / 100, 0.0, 0.0
        for bound in bounds:
            count = buckets[bound]
            if count >= rank:
                share = (rank - below) / (count - below) if count > below else 1.0
                upper = bound if bound != float("inf") else lower
                result[f"p{q}"] = (lower + (upper - lower) * share) * 1000
                break
            lower, below = bound, count
    return result


def report(cells: list[Cell], rows: int) -> dict[str, Any]:
    title = "Metrics + usage ledger on vs off (same server, same upstream, interleaved rounds)"
    if rows:
        title += f"; the 'on' ledger holds {rows:,} rows"
    table = Table(title=title)
    for column in ("mode", "conc.", "CPU ms/req off", "CPU ms/req on", "CPU ratio", "median round",
                   "p50 off", "p50 on", "p99 off", "p99 on", "p50 ratio", "added p50 (on)",
                   "own p50", "own p99", "errors"):  # fmt: skip
        table.add_column(column, justify="right")
    document: dict[str, Any] = {"ledger_rows": rows, "cells": []}
    for cell in cells:
        cpu_off, cpu_on = cell.cpu_ms("off"), cell.cpu_ms("on")
        p50 = {t: statistics.median(cell.latencies(t)) for t in cell.runs}
        table.add_row(
            cell.mode,
            str(cell.concurrency),
            f"{cpu_off:.3f}",
            f"{cpu_on:.3f}",
            f"{cpu_on / cpu_off:.3f}",
            f"{cell.round_ratio():.3f}",
            f"{p50['off']:.2f} ms",
            f"{p50['on']:.2f} ms",
            f"{cell.pct('off', 99):.2f} ms",
            f"{cell.pct('on', 99):.2f} ms",
            f"{p50['on'] / p50['off']:.3f}",
            f"{p50['on'] - p50['direct']:+.2f} ms",
            f"{cell.overhead.get('p50', 0):.2f} ms",
            f"{cell.overhead.get('p99', 0):.2f} ms",
            str(cell.errors()),
        )
        document["cells"].append(
            {
                "mode": cell.mode,
                "concurrency": cell.concurrency,
                "cpu_ms_per_request": {"off": cpu_off, "on": cpu_on},
                "cpu_ratio": cpu_on / cpu_off,
                "cpu_ratio_median_round": cell.round_ratio(),
                "p50_ms": p50,
                "p99_ms": {t: cell.pct(t, 99) for t in cell.runs},
                "own_overhead_ms": cell.overhead,
                "errors": cell.errors(),
            }
        )
    console = Console(width=200)
    console.print(table)
    console.print(
        "own p50/p99: the 'on' server's emmaus_gateway_overhead_seconds over the cell (whole "
        "request minus the time waited on the upstream; at c=16 it includes waiting for the "
        "CPU the other requests hold). added p50: p50 minus the upstream's p50 called directly."
    )
    return document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per cell at c=1")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds per cell")
    parser.add_argument("--ledger-rows", type=int, default=0, help="pre-fill the 'on' ledger")
    parser.add_argument("--out", type=Path, default=RESULTS / "observability_overhead.json")
    args = parser.parse_args()
    with (
        serve_upstream_process(tokens=32, token_size=5) as upstream,
        serve_emmaus(CATALOG.format(base=upstream.base_url), OFF) as off,
        serve_emmaus(CATALOG.format(base=upstream.base_url), {"EMMAUS_METRICS_AUTH": "none"}) as on,
    ):
        if args.ledger_rows:
            assert on.data_dir is not None
            fill_ledger(on.data_dir, args.ledger_rows)
        servers = {"off": off, "on": on}
        cells = uvloop.run(measure(args.requests, args.rounds, servers, upstream.base_url))
        document = report(cells, args.ledger_rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
