"""Chats exported from Gloo's v1 API, imported into the store on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
from datetime import UTC, datetime

import pytest

from emmaus.conversations.gloo_import import from_v1_history, import_v1_history
from emmaus.conversations.manager import ConversationManager
from emmaus.conversations.schema import COMPLETE, FAILED
from emmaus.conversations.types import NewMessage, Turn
from emmaus.errors import InvalidChatOperation
from emmaus.store import Database

ALICE, BOB = "alice", "bob"  # replaced per test by conftest.fresh_clients

# The example of spec §3.1, with the reply's turn listed first (exports are sorted by time).
GLOO_HISTORY = {
    "user_id": "u8721bb6d-b1c3-4130-b413-e7a56b3403d9",
    "chat_id": "c518c540a-28f1-4055-a8ed-44a5929c63f8",
    "created_at": "2025-07-14T19:04:56.974882",
    "updated_at": "2025-07-14T19:05:03.205307",
    "messages": [
        {
            "query_id": "q912f58e9-135b-4f95-8853-d98f7b5294f6",
            "message_id": "mfc7bc417-c089-4806-8b61-51ba24b09898",
            "timestamp": "2025-07-14T19:04:59.679262",
            "role": "kallm",
            "intent": 0,
            "sources_limit": 0,
            "sources": [],
            "success": True,
            "suggestions": ["How can I use AI?", "What can KALLM help me with?"],
            "message": "My name is Gloo AI Chat. How can I assist you today?",
            "model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
        },
        {
            "query_id": "q912f58e9-135b-4f95-8853-d98f7b5294f6",
            "message_id": "mfdca4b99-c672-4f76-8b48-dcf550be9500",
            "timestamp": "2025-07-14T19:04:58.449394",
            "role": "user",
            "character_limit": 0,
            "stream": False,
            "intent": 0,
            "message": "What is your name?",
            "model": "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
            "publishers": [],
        },
        {"role": "system", "message": "ignored"},
    ],
    "pin": False,
    "summary": None,
    "title": "User Asks About AI's Name",
}


def count(text: str) -> int:
    return len(text.split())


def test_mapping_follows_the_migration_guide() -> None:
    chat = from_v1_history(GLOO_HISTORY, count)
    assert chat.chat_id == GLOO_HISTORY["chat_id"] and chat.title == "User Asks About AI's Name"
    assert chat.created_at == datetime(2025, 7, 14, 19, 4, 56, 974882, tzinfo=UTC)
    user, reply = chat.messages
    assert (user.role, user.content, user.token_count) == ("user", "What is your name?", 4)
    assert user.id == "mfdca4b99-c672-4f76-8b48-dcf550be9500"
    assert reply.role == "assistant" and reply.status == COMPLETE
    assert reply.query_id == user.query_id and reply.suggestions == [
        "How can I use AI?", "What can KALLM help me with?"
    ]  # fmt: skip
    assert chat.skipped == ["system"]
    failed = copy.deepcopy(GLOO_HISTORY)
    failed["messages"][0].update(success=False, message="")
    assert from_v1_history(failed, count).messages[1].status == FAILED
    with pytest.raises(InvalidChatOperation):
        from_v1_history({"chat_id": "c1"}, count)


async def test_an_imported_chat_keeps_its_ids_and_goes_on(db: Database) -> None:
    manager = ConversationManager(db)
    history = copy.deepcopy(GLOO_HISTORY)
    tag = ALICE[-8:]  # ids unique to this test run
    history["chat_id"] = history["chat_id"][:-8] + tag
    for message in history["messages"]:
        if "message_id" in message:
            message["message_id"] = message["message_id"][:-8] + tag
    chat = await import_v1_history(manager, ALICE, history, count)
    assert chat.id == history["chat_id"] and chat.title == history["title"]
    _, messages = await manager.history(ALICE, chat.id)
    assert [m.content for m in messages] == [
        "What is your name?", "My name is Gloo AI Chat. How can I assist you today?"
    ]  # fmt: skip
    assert messages[0].id.endswith(tag) and messages[0].created_at.year == 2025
    with pytest.raises(InvalidChatOperation):  # imported twice: refused, nothing written
        await import_v1_history(manager, ALICE, history, count)
    turn = await manager.start_turn(ALICE, chat.id, NewMessage("user", "And now?", 2))
    assert isinstance(turn, Turn) and turn.user.seq == 3 and turn.user.parent_id == messages[1].id
