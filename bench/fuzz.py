"""The longer fuzzing run: schemathesis against Emmaus' own OpenAPI document, every operation,
authenticated, many examples each. Zero 5xx and zero responses off the document expected.

Run: `python -m bench.fuzz [--examples 250] [--seed 1] [--backend both]`: 250 examples of each
of the ~21 operations is over 5,000 requests on SQLite and again on PostgreSQL. The suite runs a
few examples of each on both (tests/faults/test_fuzz_openapi.py)."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console
from tests.faults.fuzz_app import fuzz_operation, fuzz_target, operations

RESULTS = Path(__file__).parent / "results"


POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the PostgreSQL server at `admin_url`, dropped afterwards."""
    import asyncio

    import asyncpg

    name = f"emmaus_fuzz_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield (
            admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
            + "/"
            + name
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_backend(
    console: Console, backend: str, examples: int, seed: int, postgres: str
) -> dict[str, object]:
    failures: dict[str, str] = {}
    labels = [op.label for op in operations()]
    started = time.perf_counter()
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="emmaus-fuzz-")))
        url = stack.enter_context(postgres_database(postgres)) if backend == "postgresql" else None
        target = stack.enter_context(fuzz_target(data, url))
        for label in labels:
            began = time.perf_counter()
            try:
                fuzz_operation(target, label, examples, seed=seed)
            except (Exception, BaseExceptionGroup) as exc:  # a FailureGroup: how to reproduce
                failures[label] = str(exc)
                console.print(f"[red]FAIL[/red] {backend} {label}\n{exc}")
            else:
                console.print(f"ok   {backend} {label} ({time.perf_counter() - began:.1f} s)")
    elapsed = time.perf_counter() - started
    console.print(
        f"{backend}: {len(labels)} operations x {examples} examples "
        f"(~{len(labels) * examples} requests), {len(failures)} failing, {elapsed:.0f} s"
    )
    return {
        "operations": len(labels),
        "examples_per_operation": examples,
        "requests_about": len(labels) * examples,
        "seconds": round(elapsed),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=250, help="examples per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL of a PostgreSQL server")
    args = parser.parse_args()
    console = Console()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = {
        backend: run_backend(console, backend, args.examples, args.seed, args.postgres)
        for backend in backends
    }
    RESULTS.mkdir(exist_ok=True)
    document = {"seed": args.seed, "backends": results}
    (RESULTS / "fuzz.json").write_text(json.dumps(document, indent=2) + "\n")
    raise SystemExit(1 if any(r["failures"] for r in results.values()) else 0)


if __name__ == "__main__":
    main()
