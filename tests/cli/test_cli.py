"""The `emmaus` command line as a user runs it: a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EMMAUS = str(Path(sys.executable).parent / "emmaus")


def run(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "EMMAUS_DATA_DIR": str(tmp_path), "COLUMNS": "200", **env}
    return subprocess.run(
        [EMMAUS, *args], env=environment, capture_output=True, text=True, timeout=120
    )


def test_models_lists_the_catalog(tmp_path: Path) -> None:
    result = run(tmp_path, "models")
    assert result.returncode == 0, result.stderr
    assert "emmaus-smollm2-135m" in result.stdout
    assert "Open Source" in result.stdout


def test_a_broken_catalog_is_reported(tmp_path: Path) -> None:
    catalog = tmp_path / "models.toml"
    catalog.write_text('[[models]]\nid = "x"\nfamily = "ibm"\n')
    result = run(tmp_path, "models", EMMAUS_MODELS=str(catalog))
    assert result.returncode == 2
    assert "models[0]" in result.stderr and "family" in result.stderr


def test_complete_streams_an_answer_from_the_embedded_model(tmp_path: Path) -> None:
    result = run(tmp_path, "complete", "Who was Moses?", "--max-tokens", "8", "--temperature", "0")
    assert result.returncode == 0, result.stderr
    assert "emmaus-smollm2-135m" in result.stdout
    assert "8 completion tokens" in result.stdout


def test_complete_reports_a_bad_model(tmp_path: Path) -> None:
    result = run(tmp_path, "complete", "hi", "--model", "nope")
    assert result.returncode == 1
    assert "Unknown model 'nope'" in result.stderr


def test_route_and_router_eval_in_the_terminal(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from emmaus.cli import app

    runner = CliRunner()
    shown = runner.invoke(app, ["route", "Prove that the square root of 2 is irrational"])
    assert shown.exit_code == 0, shown.output
    assert "tier_3" in shown.output and "proof" in shown.output
    labelled = tmp_path / "mine.jsonl"
    labelled.write_text(
        '{"query": "Thanks so much!", "tier": 1}\n'
        '{"query": "Write a Python function that merges two sorted lists.", "tier": 3}\n'
        '{"query": "Give me three tips for a better Bible study.", "tier": 2}\n'
    )
    report = runner.invoke(app, ["router", "eval", "--data", str(labelled)])
    assert report.exit_code == 0, report.output
    assert "always tier 2" in report.output and "word-count" in report.output
    trained = tmp_path / "router.json"
    more = tmp_path / "more.jsonl"
    more.write_text(labelled.read_text() * 10)
    fit = runner.invoke(app, ["router", "train", "--data", str(more), "--out", str(trained)])
    assert fit.exit_code == 0, fit.output
    assert trained.exists() and "EMMAUS_ROUTER_MODEL" in fit.output
