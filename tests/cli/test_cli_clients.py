"""`emmaus clients` and `emmaus db` (Typer sub-apps) against a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emmaus.cli.clients import app as clients_app
from emmaus.cli.db import app as db_app
from emmaus.config import get_settings
from emmaus.store import head_revision

runner = CliRunner()


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("EMMAUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMMAUS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def invoke(app, *args: str) -> str:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_create_json_list_rotate_disable(data_dir: Path) -> None:
    created = json.loads(invoke(clients_app, "create", "--name", "ci", "--json"))
    assert set(created) == {"client_id", "client_secret"}
    admin = json.loads(
        invoke(clients_app, "create", "--name", "ops", "--scopes", "api/access admin", "--json")
    )
    invoke(clients_app, "create", "--name", "lim", "--scopes", "api/access", "--rpm", "5")

    listed = json.loads(invoke(clients_app, "list", "--json"))
    assert [c["name"] for c in listed] == ["ci", "ops", "lim"]
    assert listed[1]["scopes"] == ["admin", "api/access"]
    assert listed[2]["rate_limit_rpm"] == 5 and listed[2]["rate_limit_tpm"] is None
    text = json.dumps(listed) + (data_dir / "emmaus.db").read_bytes().decode("latin-1")
    assert created["client_secret"] not in text and admin["client_secret"] not in text

    rotated = json.loads(invoke(clients_app, "rotate", created["client_id"], "--json"))
    assert rotated["client_id"] == created["client_id"]
    assert rotated["client_secret"] != created["client_secret"]

    assert "disabled" in invoke(clients_app, "disable", created["client_id"])
    listed = json.loads(invoke(clients_app, "list", "--json"))
    assert listed[0]["disabled_at"] is not None
    assert "ci" in invoke(clients_app, "list")  # the table


def test_errors_exit_non_zero() -> None:
    unknown = runner.invoke(clients_app, ["disable", "emc_nope"])
    assert unknown.exit_code == 1
    bad_scope = runner.invoke(clients_app, ["create", "--name", "x", "--scopes", "root"])
    assert bad_scope.exit_code == 2


def test_db_upgrade_and_current() -> None:
    assert "(empty)" in invoke(db_app, "current")
    assert head_revision() in invoke(db_app, "upgrade")
    assert f"current:  {head_revision()}" in invoke(db_app, "current")


def test_routing_preference_is_set_and_listed(data_dir: Path) -> None:
    created = json.loads(invoke(clients_app, "create", "--name", "router", "--json"))
    client_id = created["client_id"]
    assert "quality" in invoke(clients_app, "routing", client_id, "quality")
    listed = json.loads(invoke(clients_app, "list", "--json"))
    assert {c["client_id"]: c["routing_preference"] for c in listed}[client_id] == "quality"
    assert runner.invoke(clients_app, ["routing", client_id, "fastest"]).exit_code != 0
