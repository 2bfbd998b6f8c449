"""Does a v1 turn get slower as the usage ledger grows? Two `emmaus serve` (SQLite, metrics and
the ledger on, the ledger flushed every second as in production), one with an empty ledger and
one with a million rows in `usage_events`, before the same scripted upstream; v1 turns
(`POST /ai/v1/message`, suggestions and titles off, each server continuing its own chats) in
interleaved rounds, a new order each round. Prints p50/p99 of each and their ratio, and writes
`bench/results/ledger_size.json`.

    python -m bench.ledger_size [--rows 1000000] [--turns 600] [--rounds 4]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from pathlib import Path

import aiohttp
import orjson
import uvloop

from bench.harness import Emmaus, Run, drive, serve_emmaus
from bench.observability_overhead import fill_ledger
from emmaus.testing import serve_upstream_process

RESULTS = Path(__file__).parent / "results"
CATALOG = """
[[models]]
id = "echo-{tier}"
family = "open source"
tier = {tier}
provider = "openai"
base_url = "{base}"
upstream_model = "echo"
context_window = 32000
input_cost_per_1k = 0.5
output_cost_per_1k = 1.5
capabilities = ["streaming"]
"""
SETTINGS = {"EMMAUS_CHAT_TITLES": "false", "EMMAUS_USAGE_FLUSH_INTERVAL": "1"}
SENDERS_CHATS = 4  # a turn goes to one of these chats in turn (history stays short)


def turn_call(server: Emmaus, chats: list[str]):
    headers = {**server.headers, "Content-Type": "application/json"}
    url = f"{server.base_url}/ai/v1/message"
    counter = iter(range(10**9))

    async def call(client: aiohttp.ClientSession) -> float:
        n = next(counter)
        body = {"query": f"Question {n}: what is grace?", "enable_suggestions": 0}
        if chats[n % len(chats)]:
            body["chat_id"] = chats[n % len(chats)]
        started = time.perf_counter()
        async with client.post(url, data=orjson.dumps(body), headers=headers) as response:
            response.raise_for_status()
            answer = orjson.loads(await response.read())
        chats[n % len(chats)] = answer["chat_id"]
        return (time.perf_counter() - started) * 1000

    return call


def ledger_rows(server: Emmaus) -> int:
    assert server.data_dir is not None
    with sqlite3.connect(server.data_dir / "emmaus.db") as db:
        return int(db.execute("SELECT count(*) FROM usage_events").fetchone()[0])


async def measure(servers: dict[str, Emmaus], turns: int, rounds: int) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {name: [] for name in servers}
    calls = {name: turn_call(s, [""] * SENDERS_CHATS) for name, s in servers.items()}
    for _ in range(rounds):
        order = list(servers)
        random.shuffle(order)
        for name in order:
            run = await drive(
                calls[name], concurrency=1, requests=turns // rounds, warmup=10,
                pid=servers[name].pid,
            )  # fmt: skip
            runs[name].append(run)
    return runs


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--turns", type=int, default=600, help="per server")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with serve_upstream_process(tokens=16, token_size=5) as upstream:
        catalog = "".join(CATALOG.format(tier=t, base=upstream.base_url) for t in (1, 2, 3))
        with serve_emmaus(catalog, SETTINGS) as empty, serve_emmaus(catalog, SETTINGS) as full:
            assert full.data_dir is not None
            started = time.monotonic()
            fill_ledger(full.data_dir, args.rows)
            filled = time.monotonic() - started
            servers = {"empty": empty, "full": full}
            runs = uvloop.run(measure(servers, args.turns, args.rounds))
            sizes = {name: ledger_rows(server) for name, server in servers.items()}
    result: dict[str, object] = {"rows": args.rows, "fill_seconds": round(filled, 1)}
    for name, parts in runs.items():
        latencies = [x for run in parts for x in run.latencies_ms]
        cpu = sum(run.cpu_s or 0.0 for run in parts) * 1000 / max(1, len(latencies))
        result[name] = {
            "ledger_rows_at_end": sizes[name],
            "turns": len(latencies),
            "errors": sum(run.errors for run in parts),
            "p50_ms": round(pct(latencies, 50), 3),
            "p99_ms": round(pct(latencies, 99), 3),
            "cpu_ms_per_turn": round(cpu, 3),
        }
    full_, empty_ = result["full"], result["empty"]
    assert isinstance(full_, dict) and isinstance(empty_, dict)
    result["p50_ratio_full_vs_empty"] = round(full_["p50_ms"] / empty_["p50_ms"], 3)
    result["cpu_ratio_full_vs_empty"] = round(
        full_["cpu_ms_per_turn"] / empty_["cpu_ms_per_turn"], 3
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "ledger_size.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
