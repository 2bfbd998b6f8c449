"""docs/deployment.md: its HAProxy configuration is the one the multi-instance test runs and
HAProxy accepts it, and its backup-and-restore block runs as written against a scratch
PostgreSQL database (the restored copy is at the newest revision)."""

from __future__ import annotations

import uuid
from pathlib import Path

from emmaus.store import Database, head_revision, normalise_url, upgrade_database
from tests.deployment.haproxy import PROXY, check_config
from tests.docs.readme import REPO, fenced, link_venv, run_block
from tests.support.databases import _pg_admin, run_blocking

PAGE = REPO / "docs" / "deployment.md"


def section(title: str) -> list[str]:
    return [b.code for b in fenced(PAGE) if b.section == title]


def test_the_haproxy_configuration_is_the_tested_one(tmp_path: Path) -> None:
    (config,) = section("HAProxy")
    documented = {line.strip() for line in config.splitlines()}
    tested = {line.strip() for line in PROXY.splitlines() if "{" not in line}
    assert tested <= documented, f"differs from the test's: {sorted(tested - documented)}"
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    checked = check_config(path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_backup_and_restore_run_as_written(tmp_path: Path, postgres_url: str) -> None:
    async def migrate() -> None:
        db = Database(postgres_url)
        try:
            await upgrade_database(db)
        finally:
            await db.aclose()

    run_blocking(migrate())
    plain = normalise_url(postgres_url).replace("postgresql+asyncpg://", "postgresql://", 1)
    base, _, _ = plain.rpartition("/")
    restored = f"emmaus_restored_{uuid.uuid4().hex[:12]}"
    (block,) = [b.code for b in fenced(PAGE) if b.section == "Backup and restore" and b.runnable]
    env = {
        "EMMAUS_DATABASE_URL": plain,
        "ADMIN_URL": f"{base}/postgres",
        "RESTORED_URL": f"{base}/{restored}",
    }
    try:
        out = run_block(
            "bash", block.replace("emmaus_restored", restored), "", env, link_venv(tmp_path)
        )
    finally:
        run_blocking(_pg_admin(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)'))
    assert (tmp_path / "emmaus.dump").stat().st_size > 0
    assert f"current:  {head_revision()}" in out
