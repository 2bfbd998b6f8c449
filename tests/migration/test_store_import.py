"""Every importer into Emmaus' store, on SQLite and PostgreSQL: branches where the source has a
tree, the active one where it said; a second import writes nothing; a source that grew gets only
its new messages; a taken id is a conflict that writes nothing; verify sees a tampered row."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import func, select, text

from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import ChatRow, MessageRow
from emmaus.conversations.types import NewMessage, Turn
from emmaus.migration.readers import SourceFile
from emmaus.migration.readers.chatgpt import read_chatgpt
from emmaus.migration.readers.v1 import read_v1
from emmaus.migration.source import SourceChat
from emmaus.migration.store import StoreTarget
from emmaus.migration.target import APPENDED, CONFLICT, CREATED, UNCHANGED
from emmaus.migration.verify import compare
from emmaus.store import Database
from tests.migration.conftest import ALL_SOURCES, CHATGPT, GLOO_V1, count


def chats_of(fmt: str) -> list[SourceChat]:
    return [e.chat for e in SourceFile(ALL_SOURCES[fmt]) if e.chat is not None]


def fresh_v1(record: dict, tag: str) -> dict:  # type: ignore[type-arg]
    """The record with ids of this test's own (v1 ids are kept, and the database is shared)."""
    record = copy.deepcopy(record)
    record["chat_id"] = record["chat_id"][:-10] + tag
    for message in record["messages"]:
        message["message_id"] = message["message_id"][:-10] + tag[:8] + message["message_id"][-2:]
    return record


def v1_chats(tag: str) -> list[SourceChat]:
    lines = GLOO_V1.read_text().splitlines()
    return [read_v1(fresh_v1(json.loads(line), f"{tag}{n}")) for n, line in enumerate(lines)]


async def rows(db: Database) -> tuple[int, int]:
    async with db.session() as session:
        chats = (await session.execute(select(func.count()).select_from(ChatRow))).scalar_one()
        messages = (await session.execute(select(func.count()).select_from(MessageRow))).scalar()
    return chats, int(messages or 0)


@pytest.mark.parametrize("fmt", ["v1", "chatgpt", "openwebui", "assistants"])
async def test_each_format_imports_whole_and_only_once(
    db: Database, client_id: str, fmt: str
) -> None:
    target = StoreTarget(db, client_id, count)
    manager = ConversationManager(db)
    sources = v1_chats(client_id[-9:]) if fmt == "v1" else chats_of(fmt)
    for chat in sources:
        outcome = await target.import_chat(chat)
        assert outcome.status == CREATED and outcome.added == len(chat.messages)
        stored, history = await manager.history(client_id, outcome.chat_id)  # type: ignore[arg-type]
        assert [(m.role, m.content) for m in history] == [
            (m.role, m.content) for m in chat.active_branch()
        ]
        assert [m.status for m in history] == [m.status for m in chat.active_branch()]
        tree = await manager.tree(client_id, stored.id)
        assert len(tree.messages) == len(chat.messages)
        assert stored.branched == (len(chat.active_branch()) < len(chat.messages))
        assert stored.title == chat.title and stored.pin == chat.pin
        if chat.keep_id:
            assert stored.id == chat.source_id
            assert [m.id for m in history] == [m.source_id for m in chat.active_branch()]
        for message in history:  # a reply shares its question's query id
            if message.role == "assistant":
                question = next(m for m in history if m.id == message.parent_id)
                assert question.role == "user" and message.query_id == question.query_id
        assert compare(chat, await target.stored_chat(chat)) == []
    before = await rows(db)
    for chat in sources:
        again = await target.import_chat(chat)
        assert again.status == UNCHANGED and again.added == 0
    assert await rows(db) == before


async def test_chatgpt_branches_in_the_store(db: Database, client_id: str) -> None:
    target = StoreTarget(db, client_id, count)
    manager = ConversationManager(db)
    chat = chats_of("chatgpt")[0]
    outcome = await target.import_chat(chat)
    tree = await manager.tree(client_id, outcome.chat_id)  # type: ignore[arg-type]
    by_source = {}
    async with db.session() as session:
        query = select(MessageRow.source_id, MessageRow.id).where(
            MessageRow.chat_id == outcome.chat_id
        )
        by_source = {s[-2:]: i for s, i in await session.execute(query)}
    edited = await manager.siblings(client_id, tree.chat.id, by_source["08"])
    assert [m.id for m in edited.messages] == [by_source["06"], by_source["08"]]
    assert edited.active_id == by_source["08"]
    regenerated = await manager.siblings(client_id, tree.chat.id, by_source["12"])
    assert regenerated.active_id == by_source["11"] and len(regenerated.messages) == 2
    # The imported chat goes on like any other: the next turn hangs from the active leaf.
    turn = await manager.start_turn(client_id, tree.chat.id, NewMessage("user", "And then?", 2))
    assert isinstance(turn, Turn) and turn.user.parent_id == by_source["11"]
    switched = await manager.switch_branch(client_id, tree.chat.id, by_source["06"])
    assert switched.head_message_id == by_source["07"]


async def test_a_source_that_grew_gets_its_new_messages(db: Database, client_id: str) -> None:
    target = StoreTarget(db, client_id, count)
    manager = ConversationManager(db)
    whole = json.loads(CHATGPT.read_text())[1]
    shorter = copy.deepcopy(whole)
    last = list(shorter["mapping"])[-1]
    parent = shorter["mapping"].pop(last)["parent"]
    shorter["mapping"][parent]["children"] = []
    shorter["current_node"] = parent
    first = await target.import_chat(read_chatgpt(shorter))
    assert (first.status, first.added) == (CREATED, 2)
    grown = await target.import_chat(read_chatgpt(whole))
    assert (grown.status, grown.chat_id, grown.added) == (APPENDED, first.chat_id, 1)
    chat, history = await manager.history(client_id, grown.chat_id)  # type: ignore[arg-type]
    assert [m.role for m in history] == ["system", "user", "assistant"] and not chat.branched
    assert history[2].query_id == history[1].query_id
    skipped = await target.import_chat(read_chatgpt(whole), append=False)
    assert skipped.status == UNCHANGED


async def test_dry_run_writes_nothing(db: Database, client_id: str) -> None:
    target = StoreTarget(db, client_id, count)
    before = await rows(db)
    for chat in chats_of("openwebui"):
        outcome = await target.import_chat(chat, dry_run=True)
        assert outcome.status == CREATED and outcome.added == len(chat.messages)
    assert await rows(db) == before


async def test_a_taken_id_is_a_conflict_that_writes_nothing(db: Database, client_id: str) -> None:
    first, second = v1_chats(client_id[-9:])
    assert (await StoreTarget(db, client_id, count).import_chat(first)).status == CREATED
    before = await rows(db)
    other = await StoreTarget(db, client_id + "-other", count).import_chat(first)
    assert other.status == CONFLICT and "taken" in (other.detail or "")
    clash = copy.deepcopy(second)  # a new chat id, but one of its message ids is stored already
    clash.source_id = second.source_id[:-1] + "x"
    clash.messages[0].source_id = first.messages[0].source_id
    clashed = await StoreTarget(db, client_id, count).import_chat(clash)
    assert clashed.status == CONFLICT
    assert await rows(db) == before


async def test_chats_imported_before_source_ids_are_adopted(db: Database, client_id: str) -> None:
    """Chats the first `emmaus migrate import` stored (ids kept, no source id) are found again."""
    chat = v1_chats(client_id[-9:])[0]
    manager = ConversationManager(db)
    messages = [
        NewMessage(m.role, m.content, count(m.content), query_id=m.query_id, id=m.source_id)
        for m in chat.messages
    ]
    await manager.import_chat(client_id, messages, chat_id=chat.source_id)
    before = await rows(db)
    outcome = await StoreTarget(db, client_id, count).import_chat(chat)
    assert (outcome.status, outcome.chat_id) == (UNCHANGED, chat.source_id)
    assert await rows(db) == before


async def test_verify_sees_a_tampered_message(db: Database, client_id: str) -> None:
    target = StoreTarget(db, client_id, count)
    chat = chats_of("openwebui")[0]
    outcome = await target.import_chat(chat)
    assert compare(chat, await target.stored_chat(chat)) == []
    async with db.session() as session:
        await session.execute(
            text("UPDATE messages SET content = :text WHERE chat_id = :chat AND source_id = :m"),
            {"text": "tampered", "chat": outcome.chat_id, "m": "m-owu-03"},
        )
        await session.execute(
            text("DELETE FROM messages WHERE chat_id = :chat AND source_id = :m"),
            {"chat": outcome.chat_id, "m": "m-owu-02"},
        )
    found = compare(chat, await target.stored_chat(chat))
    texts = {(m.message, m.text.split(" (")[0]) for m in found}
    assert ("m-owu-03", "content differs") in texts
    assert ("m-owu-02", "missing from the target") in texts
    assert any(m.text == "6 messages in the source, 5 stored" for m in found)
    assert compare(chats_of("openwebui")[1], None)[0].text == "not in the target"
