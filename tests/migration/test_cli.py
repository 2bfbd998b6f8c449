"""`emmaus migrate validate | import | verify` as an operator runs them, on SQLite and PostgreSQL:
problems reported by chat with a non-zero exit, a dry run that writes nothing, a second import
that writes nothing, and verify failing on a message edited behind its back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner, Result

from emmaus.cli.main import app
from emmaus.config import get_settings
from emmaus.store import Database
from tests.migration.conftest import ALL_SOURCES, V1_PROBLEMS

runner = CliRunner()


@pytest.fixture(autouse=True)
def settings_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("EMMAUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("EMMAUS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def migrate(*args: str) -> Result:
    return runner.invoke(app, ["migrate", *args])


def test_validate_reports_each_problem_by_chat() -> None:
    result = migrate("validate", str(V1_PROBLEMS))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    expected = [
        "line 1 chat cbad00001-0000-4000-8000-000000000001: message "
        "mbad00001-0000-4000-8000-0000000000a2 is older than mbad00001-0000-4000-8000-"
        "0000000000a1, listed before it",
        "line 2 chat cbad00002-0000-4000-8000-000000000002: question "
        "mbad00002-0000-4000-8000-0000000000b1 has no answer",
        "line 3 chat cbad00001-0000-4000-8000-000000000001: the chat is also at line 1",
        "line 3 chat cbad00001-0000-4000-8000-000000000001: message id "
        "mbad00001-0000-4000-8000-0000000000a1 is used twice (also at line 1)",
        "line 4 chat cbad00004-0000-4000-8000-000000000004: messages.0.user.message_id: "
        "Field required",
    ]
    for line in expected:
        assert line in lines
    assert any(
        line.startswith("line 2 chat cbad00002") and "has query_id" in line for line in lines
    )
    assert any(line.startswith("line 5 chat ?: not JSON") for line in lines)
    assert lines[-1] == "5 chats, 7 messages (v1): 7 problems in 5 chats"


@pytest.mark.parametrize("fmt", list(ALL_SOURCES))
def test_the_fixtures_are_valid(fmt: str) -> None:
    result = migrate("validate", str(ALL_SOURCES[fmt]))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[-1].endswith(f"({fmt}): ok")


def test_import_twice_then_verify_until_tampered(database: Database) -> None:
    """`database`: migrated, as `emmaus serve` leaves it."""
    database_url = database.url
    source = str(ALL_SOURCES["openwebui"])
    where = ["--client", "emc_team", "--database-url", database_url]
    dry = migrate("import", source, *where, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "would import 2 chats, 10 messages (openwebui)" in dry.stderr
    absent = migrate("verify", source, *where)
    assert (
        absent.exit_code == 1
        and "chat 0d3b7e52-5c1a-4e8e-9f11-3a2b1c0d9e01: not in the target" in absent.stderr
    )

    first = migrate("import", source, *where)
    assert first.exit_code == 0, first.stderr
    assert "imported 2 chats, 10 messages (openwebui)" in first.stderr
    again = migrate("import", source, *where)
    assert again.exit_code == 0 and "imported 0 chats, 0 messages, skipped 2" in again.stderr
    checked = migrate("verify", source, *where)
    assert checked.exit_code == 0, checked.stderr
    assert "2 chats, 10 messages: 2 match, 0 differ (0 mismatches)" in checked.stderr
    other = migrate(
        "verify", source, "--client", "emc_someone_else", "--database-url", database_url
    )
    assert other.exit_code == 1  # another client's chats are not this client's

    asyncio.run(tamper(database_url, "a-3", "Why is the third candle green?"))
    tampered = migrate("verify", source, *where)
    assert tampered.exit_code == 1
    assert (
        "chat 0d3b7e52-5c1a-4e8e-9f11-3a2b1c0d9e02 message a-3: content differs" in tampered.stderr
    )
    assert "1 match, 1 differ (1 mismatches)" in tampered.stderr


async def tamper(database_url: str, source_id: str, content: str) -> None:
    db = Database(database_url)
    try:
        async with db.session() as session:
            await session.execute(
                text("UPDATE messages SET content = :content WHERE source_id = :source"),
                {"content": content, "source": source_id},
            )
    finally:
        await db.aclose()


def test_bad_input_is_a_clear_error(tmp_path: Path, sqlite_url: str) -> None:
    missing = migrate("import", str(tmp_path / "nothing.json"), "--client", "emc_x")
    assert missing.exit_code == 2
    wrong = migrate("import", str(ALL_SOURCES["v1"]), "--client", "emc_x", "--format", "csv")
    assert wrong.exit_code == 2 and "unknown format 'csv'" in wrong.stderr
    sdk = migrate("import", str(ALL_SOURCES["v1"]), "--client", "u1", "--target", "sdk")
    assert sdk.exit_code == 2 and "--database-url" in sdk.stderr
    unmigrated = migrate(
        "verify", str(ALL_SOURCES["v1"]), "--client", "x", "--database-url", sqlite_url
    )
    assert unmigrated.exit_code == 2 and "emmaus db upgrade" in unmigrated.stderr
