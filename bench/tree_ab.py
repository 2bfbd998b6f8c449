"""The gateway's added latency at concurrency 1 for two trees of Emmaus in one run: a git
revision (checked out into a temporary worktree) and the working tree, each served by its own
`emmaus serve` in front of the same scripted upstream, in interleaved rounds (a new random order
each round), `--servers` of each tree at once so that one server's luck is visible.

Per mode (SSE time to first token, JSON whole response): the median latency of each server, the
added latency over the upstream called directly, server CPU per request, and after/before.
Both trees run in this venv (the revision's source first on `PYTHONPATH`), so a revision whose
dependencies differ from the working tree's cannot be compared this way.

Run: `python -m bench.tree_ab --base HEAD~1 [--rounds 8] [--requests 60] [--servers 2]`."""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.gateway import CATALOG, TOKENS, non_streaming, streaming_ttft
from bench.harness import Gateway, drive, serve_emmaus
from emmaus.testing import serve_upstream_process

ROOT = Path(__file__).resolve().parent.parent
MODES = (("SSE (TTFT)", streaming_ttft), ("JSON", non_streaming))


@contextmanager
def worktree(revision: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="emmaus-ab-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(folder), revision],
        check=True,
        capture_output=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)],
            check=False,
            capture_output=True,
        )


async def measure(
    targets: list[Gateway], rounds: int, requests: int
) -> dict[str, dict[str, tuple[float, float]]]:
    """mode -> target -> (median ms, CPU ms per request)."""
    results: dict[str, dict[str, tuple[float, float]]] = {}
    for mode, make in MODES:
        latencies: dict[str, list[float]] = {t.name: [] for t in targets}
        cpu: dict[str, float] = dict.fromkeys(latencies, 0.0)
        for number in range(rounds):
            order = list(targets)
            random.shuffle(order)
            for target in order:
                run = await drive(
                    make(target),
                    concurrency=1,
                    requests=requests,
                    warmup=20 if number == 0 else 5,
                    pid=target.pid,
                )
                latencies[target.name] += run.latencies_ms
                cpu[target.name] += run.cpu_s or 0.0
        results[mode] = {
            name: (statistics.median(values), cpu[name] / len(values) * 1000)
            for name, values in latencies.items()
        }
    return results


def report(results: dict[str, dict[str, tuple[float, float]]], servers: int) -> None:
    table = Table(title="Added latency at c=1: the revision (before) vs the working tree (after)")
    for column in ("mode", "server", "before +p50", "after +p50", "after/before", "CPU/req"):
        table.add_column(column, justify="right")
    for mode, by_target in results.items():
        direct = by_target["direct"][0]
        for index in range(servers):
            before, before_cpu = by_target[f"before-{index}"]
            after, after_cpu = by_target[f"after-{index}"]
            table.add_row(
                mode,
                str(index + 1),
                f"{before - direct:.2f} ms",
                f"{after - direct:.2f} ms",
                f"{(after - direct) / (before - direct):.2f}x",
                f"{before_cpu:.2f} -> {after_cpu:.2f} ms",
            )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--requests", type=int, default=60, help="per server and round")
    parser.add_argument("--servers", type=int, default=2, help="servers of each tree")
    args = parser.parse_args()
    with ExitStack() as stack:
        base = stack.enter_context(worktree(args.base))
        upstream = stack.enter_context(serve_upstream_process(tokens=TOKENS, token_size=5))
        catalog = CATALOG.format(base=upstream.base_url)
        targets = [Gateway("direct", f"{upstream.base_url}/chat/completions", "fixed", {})]
        for index in range(args.servers):
            for name, env in (("before", {"PYTHONPATH": str(base / "src")}), ("after", {})):
                server = stack.enter_context(serve_emmaus(catalog, env))
                url = f"{server.base_url}/ai/v2/chat/completions"
                targets.append(
                    Gateway(f"{name}-{index}", url, "bench-model", server.headers, server.pid)
                )
        results = asyncio.run(measure(targets, args.rounds, args.requests))
    report(results, args.servers)


if __name__ == "__main__":
    main()
