"""Importing into the SDK's client-managed database (`emmaus_client.storage`), on SQLite and
PostgreSQL: every format with its branches, the active branch as the head, idempotent, and
verify catching a message changed in the application's table."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from emmaus.cli.main import app
from emmaus.migration.readers import SourceFile
from emmaus.migration.sdk import SdkTarget, open_sdk_target
from emmaus.migration.source import SourceChat
from emmaus.migration.target import CREATED, UNCHANGED
from emmaus.migration.verify import compare
from emmaus_client.storage import ConversationManager
from tests.migration.conftest import ALL_SOURCES, count


def chats_of(fmt: str) -> list[SourceChat]:
    return [e.chat for e in SourceFile(ALL_SOURCES[fmt]) if e.chat is not None]


@pytest.mark.parametrize("fmt", list(ALL_SOURCES))
async def test_each_format_into_the_sdk_tables(database_url: str, fmt: str) -> None:
    manager = await ConversationManager.open(database_url)
    user = f"user-{uuid.uuid4().hex[:8]}"
    target = SdkTarget(manager, user, count)
    try:
        for chat in chats_of(fmt):
            outcome = await target.import_chat(chat)
            assert outcome.status == CREATED and outcome.added == len(chat.messages)
            conversation = await manager.get_conversation(outcome.chat_id, user_id=user)  # type: ignore[arg-type]
            assert conversation.title == chat.title and conversation.source_id == chat.key
            history = await manager.get_history(conversation.id)
            assert [(m.role, m.content) for m in history] == [
                (m.role, m.content) for m in chat.active_branch()
            ]
            assert len(await manager.get_tree(conversation.id)) == len(chat.messages)
            if chat.keep_id:
                assert conversation.id == chat.source_id
                assert [m.id for m in history] == [m.source_id for m in chat.active_branch()]
            replies = [m for m in history if m.role == "assistant"]
            assert all(m.meta.get("query_id") for m in replies)
            assert compare(chat, await target.stored_chat(chat)) == []
            again = await target.import_chat(chat)
            assert again.status == UNCHANGED
            assert await manager.count_messages(conversation.id) == len(chat.messages)
        other = SdkTarget(manager, "someone-else", count)
        assert await other.stored_chat(chats_of(fmt)[0]) is None  # another user's
    finally:
        await manager.aclose()


def test_cli_import_and_verify_with_the_sdk_target(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    source = str(ALL_SOURCES["chatgpt"])
    where = ["--client", "user-42", "--target", "sdk", "--database-url", url]
    runner = CliRunner()
    imported = runner.invoke(app, ["migrate", "import", source, *where])
    assert imported.exit_code == 0, imported.stderr
    assert "imported 2 chats, 10 messages (chatgpt)" in imported.stderr
    again = runner.invoke(app, ["migrate", "import", source, *where])
    assert "skipped 2 already imported" in again.stderr
    assert runner.invoke(app, ["migrate", "verify", source, *where]).exit_code == 0

    async def tamper() -> None:
        manager = ConversationManager(url)
        try:
            async with manager.engine.begin() as conn:
                await conn.execute(
                    text("UPDATE emmaus_messages SET content = 'changed' WHERE source_id = :s"),
                    {"s": "c0000000-0000-4000-8000-000000000002"},
                )
        finally:
            await manager.aclose()

    asyncio.run(tamper())
    caught = runner.invoke(app, ["migrate", "verify", source, *where])
    assert caught.exit_code == 1
    assert "message c0000000-0000-4000-8000-000000000002: content differs" in caught.stderr


async def test_each_chat_to_its_own_user_and_v1_chat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    first, second = chats_of("v1")
    manager = ConversationManager(url)
    async with manager.engine.begin() as conn:  # the application's own table
        await conn.execute(text("CREATE TABLE app_chats (gloo_chat_id TEXT, owner TEXT)"))
        await conn.execute(
            text("INSERT INTO app_chats VALUES (:c, 'user-7')"), {"c": first.source_id}
        )
    await manager.aclose()
    target = await open_sdk_target(
        url,
        "user-default",
        count,
        write=True,
        owners_sql="SELECT gloo_chat_id, owner FROM app_chats",
    )
    try:
        for chat in (first, second):
            assert (await target.import_chat(chat)).status == CREATED
        one = await target.manager.get_conversation(first.source_id)
        two = await target.manager.get_conversation(second.source_id)
        assert (one.user_id, two.user_id) == ("user-7", "user-default")
        assert one.meta == {"pin": True, "v1_chat_id": first.source_id}  # ChatService's old path
        assert two.meta["summary"] == "A reading plan on hope"
        failed = (await target.manager.get_history(two.id))[1]
        assert failed.meta["status"] == "failed" and failed.meta["query_id"]
        assert compare(first, await target.stored_chat(first)) == []
    finally:
        await target.aclose()
