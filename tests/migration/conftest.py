"""Fixture files (written for these tests, not copied from real exports) and a migrated database
per module and back end; tests keep apart by fresh client ids."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from emmaus.store import Database, upgrade_database
from tests.support.module_databases import module_database_url  # noqa: F401

FIXTURES = Path(__file__).with_name("fixtures")
GLOO_V1 = FIXTURES / "gloo_v1.jsonl"
CHATGPT = FIXTURES / "chatgpt_conversations.json"
OPENWEBUI = FIXTURES / "openwebui_export.json"
ASSISTANTS = FIXTURES / "assistants_threads.json"
V1_PROBLEMS = FIXTURES / "gloo_v1_problems.jsonl"
ALL_SOURCES = {"v1": GLOO_V1, "chatgpt": CHATGPT, "openwebui": OPENWEBUI, "assistants": ASSISTANTS}


@pytest.fixture(scope="module")
async def db(module_database_url: str) -> AsyncIterator[Database]:  # noqa: F811
    database = Database(module_database_url)
    await upgrade_database(database)
    try:
        yield database
    finally:
        await database.aclose()


@pytest.fixture
def client_id() -> str:
    return f"emc_migrate_{uuid.uuid4().hex[:10]}"


def count(text: str) -> int:
    return len(text.split())
