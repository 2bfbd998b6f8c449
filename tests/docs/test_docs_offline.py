"""The examples that need no server: the README's two commands (the Makefile has them and they
resolve) and docs/configuration.md (its catalogs load, its `emmaus models` line checks one, its
settings table names real settings with their real defaults)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from emmaus.catalog import parse_catalog
from emmaus.config import Settings
from tests.docs.readme import REPO, blocks, fenced, link_venv, run_block

CONFIGURATION = REPO / "docs" / "configuration.md"
RUNS = {("README.md", "Two commands"), ("configuration.md", "The model catalog")}


def test_the_two_commands_exist_and_resolve() -> None:
    """Running them is the suite itself (`make test`) and the server the other tests start
    (`make run`); `make -n` shows each line is a target whose recipe make can resolve."""
    [(_, code)] = blocks("Two commands")
    commands = [line.split("#")[0].strip() for line in code.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]
    for command in commands:
        done = subprocess.run(
            [*command.split(), "-n"], cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        assert ("emmaus serve" if command == "make run" else "pytest") in done.stdout


def _catalogs() -> list[str]:
    return [b.code for b in fenced(CONFIGURATION) if b.language == "toml"]


def test_every_catalog_on_the_page_loads() -> None:
    catalogs = _catalogs()
    assert len(catalogs) >= 2
    for text in catalogs:
        assert len(parse_catalog(text, "docs/configuration.md")) >= 1


def test_the_catalog_check_line(tmp_path: Path) -> None:
    [(language, code)] = blocks("The model catalog", CONFIGURATION)
    (tmp_path / "models.toml").write_text(_catalogs()[0])  # "the file above"
    out = run_block(language, code, "", {}, link_venv(tmp_path))
    assert "tier_2" in out and "openai" in out

    broken = _catalogs()[0].replace("tier = 2", "tier = 7", 1)
    (tmp_path / "models.toml").write_text(broken)
    said = run_block(language, code, "", {}, tmp_path, check=False)
    assert "Traceback" not in said and "models[1]" in said  # the second entry
    with pytest.raises(AssertionError):
        run_block(language, code, "", {}, tmp_path)


def test_the_settings_table_names_real_settings_and_defaults() -> None:
    text = CONFIGURATION.read_text()
    fields = Settings.model_fields
    named = set(re.findall(r"`EMMAUS_([A-Z0-9_]+)`", text)) - {"CONFIG"}
    assert named and {n.lower() for n in named} <= set(fields)
    rows = re.findall(r"^\| `EMMAUS_([A-Z0-9_]+)` \| `([^`]*)` \|", text, re.M)
    assert len(rows) >= 8
    for name, default in rows:
        actual = fields[name.lower()].default
        if isinstance(actual, int | float) and not isinstance(actual, bool):
            assert float(default) == actual, name
        else:
            assert default == str(actual), name


def test_the_deployment_settings_file_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    [sample] = [
        b.code
        for b in fenced()
        if b.section == "Deployment on PostgreSQL and Redis" and b.language == "toml"
    ]
    (tmp_path / "emmaus.toml").write_text(sample)
    for name in [n for n in os.environ if n.startswith("EMMAUS_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EMMAUS_CONFIG", str(tmp_path / "emmaus.toml"))
    settings = Settings()
    assert settings.database_url == "postgresql://emmaus:secret@db.internal:5432/emmaus"
    assert settings.redis_url == "redis://cache.internal:6379/0"
    assert settings.models == Path("/etc/emmaus/models.toml") and settings.host == "0.0.0.0"
    assert settings.jwt_secret is not None
    monkeypatch.setenv("EMMAUS_HOST", "10.0.0.5")  # "an environment variable overrides the file"
    assert Settings().host == "10.0.0.5"
