"""The tables of `emmaus models`, `emmaus clients list` and `emmaus usage` fit an 80-column
terminal (columns a reader needs least are left out, and named), and `--wide` shows them all:
the real program in a subprocess with `COLUMNS=80`, over a real SQLite file."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emmaus.config import Settings
from emmaus.store import Database, upgrade_database
from emmaus.usage.ledger import UsageEntry, UsageLedger
from tests.support.databases import run_blocking

EMMAUS = str(Path(sys.executable).parent / "emmaus")
LONG_ID = "a-very-long-model-identifier-for-the-catalog-v2"
CATALOG = f"""
[[models]]
id = "{LONG_ID}"
family = "open source"
tier = 3
provider = "openai"
base_url = "http://127.0.0.1:9/v1"
upstream_model = "x"
context_window = 200000
input_cost_per_1k = 3.0
output_cost_per_1k = 15.0
capabilities = ["tools", "streaming", "json"]
"""


def run(data: Path, *args: str, columns: int = 80, **env: str) -> str:
    environment = {**os.environ, "EMMAUS_DATA_DIR": str(data), "COLUMNS": str(columns), **env}
    environment.pop("EMMAUS_DATABASE_URL", None)
    result = subprocess.run(
        [EMMAUS, *args], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("catalog", [None, CATALOG])
def test_models_fits_80_columns_and_wide_shows_everything(
    tmp_path: Path, catalog: str | None
) -> None:
    env = {}
    if catalog:
        (tmp_path / "models.toml").write_text(catalog)
        env["EMMAUS_MODELS"] = str(tmp_path / "models.toml")
    shown = run(tmp_path, "models", **env)
    assert widest(shown) <= 80, shown
    model_id = LONG_ID if catalog else "emmaus-smollm2-135m"
    assert model_id in shown and "tier_" in shown  # ids whole, on one line
    assert "hidden:" in shown and "--wide" in shown
    wide = run(tmp_path, "models", "--wide", **env)
    for header in ("provider", "context", "$/1k in", "$/1k out", "caps"):
        assert header in wide
    assert "hidden:" not in wide and widest(wide) > 80
    # A terminal wide enough shows every column without being asked.
    assert "hidden:" not in run(tmp_path, "models", columns=200, **env)


def test_clients_list_fits_80_columns(tmp_path: Path) -> None:
    for name in ("ci", "a client with a rather long descriptive name for reports"):
        run(tmp_path, "clients", "create", "--name", name, "--scopes", "api/access admin")
    shown = run(tmp_path, "clients", "list")
    assert widest(shown) <= 80, shown
    listed = run(tmp_path, "clients", "list", "--json")
    for client_id in (part.split('"')[0] for part in listed.split('"id": "')[1:]):
        assert client_id in shown  # never cut: ids are copied from here
    assert "status" in shown and "hidden:" in shown
    wide = run(tmp_path, "clients", "list", "--wide")
    assert all(h in wide for h in ("scopes", "rpm", "tpm", "created")) and widest(wide) > 80


def test_usage_by_client_fits_80_columns(tmp_path: Path) -> None:
    data = tmp_path / "data"
    when = datetime(2026, 11, 5, 12, 0, tzinfo=UTC)
    client_ids = ["emc_" + "x" * 24, "emc_" + "y" * 24]

    async def fill() -> None:
        db = Database.from_settings(Settings(data_dir=data))
        await upgrade_database(db)
        ledger = UsageLedger(db)
        for client_id in client_ids:
            entry = UsageEntry(
                when, client_id, "m1", "/ai/v2/chat/completions", None, 123456, 7890, 12.5,
                "ok", 30, False,
            )  # fmt: skip
            ledger.record(entry)
        await ledger.aclose()
        await db.aclose()

    data.mkdir()
    run_blocking(fill())
    args = ["usage", "--from", "2026-11-01", "--to", "2026-12-01", "--group-by", "client"]
    shown = run(data, *args)
    assert widest(shown) <= 80, shown
    assert all(client_id in shown for client_id in client_ids) and "total" in shown
    assert "25.000000" in shown  # the cost stays
    wide = run(data, *args, "--wide")
    assert "avg ms" in wide and "errors" in wide
