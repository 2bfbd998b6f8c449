"""`emmaus usage` over a real SQLite ledger: a Rich table, `--json` and `--csv`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emmaus.cli.main import app
from emmaus.config import get_settings
from emmaus.store import Database, upgrade_database
from emmaus.usage.ledger import UsageEntry, UsageLedger
from tests.support.databases import run_blocking

runner = CliRunner()
WHEN = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
RANGE = ["--from", "2026-11-01", "--to", "2026-12-01"]


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("EMMAUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMMAUS_DATABASE_URL", raising=False)
    get_settings.cache_clear()

    async def fill() -> None:
        db = Database.from_settings(get_settings())
        await upgrade_database(db)
        ledger = UsageLedger(db)
        for client, model, tokens in (("emc_a", "m1", 10), ("emc_a", "m2", 20), ("emc_b", "m1", 5)):
            ledger.record(
                UsageEntry(
                    WHEN,
                    client,
                    model,
                    "/ai/v2/chat/completions",
                    None,
                    tokens,
                    1,
                    0.25,
                    "ok",
                    30,
                    False,
                )
            )
        await ledger.aclose()
        await db.aclose()

    run_blocking(fill())
    yield tmp_path / "data"
    get_settings.cache_clear()


def invoke(*args: str) -> str:
    result = runner.invoke(app, ["usage", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_json_by_model_and_by_client() -> None:
    body = json.loads(invoke(*RANGE, "--json"))
    assert [(g["key"], g["requests"], g["prompt_tokens"]) for g in body["data"]] == [
        ("m1", 2, 15),
        ("m2", 1, 20),
    ]
    assert body["total"]["cost_usd"] == 0.75
    mine = json.loads(invoke(*RANGE, "--group-by", "client", "--client", "emc_a", "--json"))
    assert [(g["key"], g["total_tokens"]) for g in mine["data"]] == [("emc_a", 32)]


def test_csv_and_table() -> None:
    rows = list(csv.reader(io.StringIO(invoke(*RANGE, "--group-by", "day", "--csv"))))
    assert rows[0][:3] == ["day", "requests", "prompt_tokens"]
    assert rows[1][:3] == ["2026-11-05", "3", "35"]
    table = invoke(*RANGE)
    assert "m1" in table and "total" in table and "0.750000" in table
    assert "(none)" not in invoke("--from", "2026-10-01", "--to", "2026-10-02")  # empty range


@pytest.mark.parametrize(
    "args",
    [["--group-by", "week"], ["--from", "soon"], ["--from", "2026-12-02", "--to", "2026-12-01"],
     ["--json", "--csv"]],
)  # fmt: skip
def test_bad_arguments_exit_2(args: list[str]) -> None:
    assert runner.invoke(app, ["usage", *args]).exit_code == 2
