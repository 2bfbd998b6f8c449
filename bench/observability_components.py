"""The CPU each metering mechanism costs per request, measured in-process with
`time.process_time` (CPU of this process only, so other load on the machine barely moves it):
the ASGI middleware with and without metrics, one model call's metering (Prometheus series;
then the usage-ledger row), and the ledger's batched INSERT per row on SQLite. Compare the sum
with the server's CPU per request in `bench.observability_overhead`.

Run: `python -m bench.observability_components [--calls 20000]`."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.table import Table

from emmaus.catalog import load_catalog
from emmaus.engine.router import RoutingDecision
from emmaus.engine.types import Message, Usage
from emmaus.observability.middleware import Observability
from emmaus.services.metering import Meter
from emmaus.store import Database, upgrade_database
from emmaus.usage.ledger import UsageLedger


def per_call_us(work: Callable[[], Any], calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        work()
    return (time.process_time() - started) / calls * 1e6


async def middleware_us(record: bool, calls: int) -> float:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def send(message: Any) -> None:
        return None

    async def receive() -> Any:
        return {"type": "http.request"}

    middleware = Observability(app, [], record=record)
    headers = [(b"host", b"h"), (b"authorization", b"Bearer x"), (b"content-type", b"json")]
    await middleware(
        {"type": "http", "method": "POST", "path": "/", "headers": headers}, receive, send
    )
    started = time.process_time()
    for _ in range(calls):
        scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
        await middleware(scope, receive, send)
    return (time.process_time() - started) / calls * 1e6


async def measure(calls: int) -> dict[str, float]:
    spec = next(iter(load_catalog()))
    decision = RoutingDecision("direct_model_selection", 1, 1.0, "bench", (spec,))
    messages = [Message("user", "What does the word grace mean?")]
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite+aiosqlite:///{folder}/ledger.db")
        await upgrade_database(db)
        ledger = UsageLedger(db, batch_size=calls + 1, max_pending=calls + 1)

        def call(meter: Meter) -> Callable[[], None]:
            def work() -> None:
                metered = meter.start("emc_bench", messages, decision, streamed=False)
                metered.enter()
                metered.leave()
                metered.finish(spec, Usage(60, 32))

            return work

        results = {
            "middleware, metrics off": await middleware_us(False, calls),
            "middleware, metrics on": await middleware_us(True, calls),
            "model call metering, nothing recorded": per_call_us(call(Meter(metrics=False)), calls),
            "model call metering, Prometheus series": per_call_us(call(Meter()), calls),
            "model call metering, ledger row queued": per_call_us(
                call(Meter(metrics=False, sinks=[ledger])), calls
            ),
        }
        started = time.process_time()
        await ledger.flush()  # the background write, here on demand
        results["ledger INSERT per row (SQLite, batched)"] = (
            (time.process_time() - started) / calls * 1e6
        )
        await db.aclose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20_000)
    args = parser.parse_args()
    results = asyncio.run(measure(args.calls))
    table = Table("mechanism", "CPU µs per call", title="Metering cost per request, in-process")
    for name, value in results.items():
        table.add_row(name, f"{value:.1f}")
    added = (
        results["middleware, metrics on"]
        - results["middleware, metrics off"]
        + results["model call metering, Prometheus series"]
        + results["model call metering, ledger row queued"]
        - 2 * results["model call metering, nothing recorded"]
        + results["ledger INSERT per row (SQLite, batched)"]
    )
    table.add_row("added per request (metrics + ledger)", f"{added:.1f}", style="bold")
    Console().print(table)


if __name__ == "__main__":
    main()
