"""Each source format read into chats: trees pruned of what is not imported, the active branch
where the source said, multi-part content, statuses, times; broken trees repaired and said."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL
from emmaus.migration.readers import SourceFile, recognise
from emmaus.migration.readers.chatgpt import read_chatgpt
from emmaus.migration.readers.openwebui import read_openwebui
from emmaus.migration.readers.v1 import read_v1
from emmaus.migration.source import SourceChat, SourceError
from tests.migration.conftest import ALL_SOURCES, ASSISTANTS, CHATGPT, GLOO_V1, OPENWEBUI


def chats(path: Path) -> list[SourceChat]:
    entries = list(SourceFile(path))
    assert all(e.error is None for e in entries), [e.error for e in entries]
    return [e.chat for e in entries if e.chat is not None]


def short(ids: list[str]) -> list[str]:
    return [i[-2:] for i in ids]


@pytest.mark.parametrize("fmt", list(ALL_SOURCES))
def test_the_format_is_recognised(fmt: str) -> None:
    assert SourceFile(ALL_SOURCES[fmt]).format == fmt
    with pytest.raises(SourceError):
        recognise({"neither": "of them"})


def test_gloo_v1_follows_the_migration_guide() -> None:
    first, second = chats(GLOO_V1)
    assert first.key == "v1:c3e0b9a10-1f2e-4d3c-9b8a-7f6e5d4c3b21" and first.keep_id
    assert (first.title, first.pin, second.summary) == (
        "User Asks About AI's Name", True, "A reading plan on hope"
    )  # fmt: skip
    assert first.created_at == datetime(2025, 7, 14, 19, 4, 56, 974882, tzinfo=UTC)
    user, reply = first.messages[:2]
    assert (user.role, user.content, reply.role) == ("user", "What is your name?", "assistant")
    assert user.query_id == reply.query_id and reply.parent == user.source_id
    assert first.messages[3].sources[0]["publisher"] == "Bible Project"  # type: ignore[index]
    assert first.messages[2].meta == {
        "character_limit": 400, "stream": True, "intent": 0, "publishers": ["Bible Project"]
    }  # fmt: skip
    assert [m.status for m in second.messages] == [COMPLETE, FAILED, COMPLETE, COMPLETE]


def test_gloo_v1_in_time_order_and_roles_it_does_not_know() -> None:
    record = json.loads(GLOO_V1.read_text().splitlines()[0])
    record["messages"].reverse()  # listed newest first
    record["messages"].append({"role": "system", "message": "not a v1 role"})
    chat = read_v1(record)
    assert [m.content for m in chat.messages][:2] == [
        "What is your name?", "My name is Gloo AI Chat. How can I assist you today?"
    ]  # fmt: skip
    assert chat.skipped == ["a message with role 'system'"]
    with pytest.raises(SourceError, match="messages"):
        read_v1({"chat_id": "c1"})


def test_chatgpt_mapping_becomes_branches() -> None:
    forgiveness, prayer = chats(CHATGPT)
    assert forgiveness.title == "Forgiveness in the parables"
    by_id = {m.source_id[-2:]: m for m in forgiveness.messages}
    # Kept: the two questions and answers, the edited question (an image and text), the answer
    # after a web search (the tool traffic left out) and a regenerated answer beside it.
    assert sorted(by_id) == ["04", "05", "06", "07", "08", "11", "12"]
    assert by_id["04"].parent is None  # its hidden ancestors and the empty root are gone
    assert by_id["06"].parent == by_id["08"].parent == by_id["05"].source_id  # an edit
    assert by_id["11"].parent == by_id["12"].parent == by_id["08"].source_id  # a regeneration
    assert by_id["08"].content == (
        "[image]\nTell me more about the prodigal son, and about this painting."
    )
    assert by_id["08"].meta == {"attachments": ["file-service://file-Rembrandt01"]}
    assert by_id["12"].model == "gpt-4o-mini"
    active = forgiveness.active_branch()
    assert short([m.source_id for m in active]) == ["04", "05", "08", "11"]
    reasons = " ".join(forgiveness.skipped)
    assert "no message (the root)" in reasons and "hidden" in reasons
    assert "addressed to web" in reasons and "a tool message" in reasons
    system, question, answer = prayer.messages
    assert system.role == "system" and system.content.startswith("You are a gentle guide")
    assert question.content == "Give me a short morning prayer.\nSomething I can memorise."
    assert answer.status == PARTIAL  # still in progress when it was exported


def test_chatgpt_broken_trees_are_repaired_and_reported() -> None:
    conversation = copy.deepcopy(json.loads(CHATGPT.read_text())[1])
    mapping = conversation["mapping"]
    ids = list(mapping)
    mapping[ids[1]]["parent"] = "gone-node"
    conversation["current_node"] = "nowhere"
    chat = read_chatgpt(conversation)
    assert any("parent 'gone-node' is not in the export" in p for p in chat.problems)
    assert any("current node 'nowhere'" in p for p in chat.problems)
    assert chat.messages[1].parent is None  # made a root
    mapping[ids[0]]["parent"] = ids[2]  # a cycle: system -> answer -> question -> system
    mapping[ids[1]]["parent"] = ids[0]
    chat = read_chatgpt(conversation)
    assert any("cycle" in p for p in chat.problems)


def test_openwebui_history_becomes_branches() -> None:
    study, advent = chats(OPENWEBUI)
    assert study.title == "Psalm 23 study" and study.pin is True
    system = study.messages[0]
    assert (system.role, system.content) == (
        "system", "You help a Bible study group. Quote the ESV."
    )  # fmt: skip
    by_id = {m.source_id: m for m in study.messages}
    assert by_id["m-owu-01"].parent == "system"
    assert by_id["m-owu-02"].parent == by_id["m-owu-03"].parent == "m-owu-01"  # regenerated
    assert by_id["m-owu-04"].meta == {"attachments": ["psalm23-handout.pdf"]}
    assert by_id["m-owu-05"].status == FAILED and by_id["m-owu-05"].content == ""
    assert "m-owu-06" not in by_id and study.skipped == ["message m-owu-06: empty"]
    assert [m.source_id for m in study.active_branch()] == [
        "system", "m-owu-01", "m-owu-03", "m-owu-04", "m-owu-05"
    ]  # fmt: skip
    assert by_id["m-owu-01"].created_at == datetime(2024, 6, 21, 20, 0, tzinfo=UTC)
    assert advent.messages[-1].status == PARTIAL and advent.messages[-1].model == "qwen2.5:7b"
    with pytest.raises(SourceError):
        read_openwebui({"id": "x", "chat": {"history": []}})


def test_assistants_threads_in_time_order() -> None:
    sermon, fasting = chats(ASSISTANTS)
    assert sermon.title == "Sermon outline: the Good Samaritan"
    assert [m.source_id for m in sermon.messages] == ["msg_01", "msg_02", "msg_03", "msg_04"]
    outline = sermon.messages[1]
    assert outline.content == (
        "1. The question behind the question (Luke 10:25-29).\n\n"
        "2. The ones who passed by (10:31-32)【4:0†luke10.txt】."
    )
    assert sermon.messages[2].content.endswith("\n\n[image]")
    assert sermon.messages[2].meta == {"attachments": ["file-foodbank77"]}
    assert sermon.messages[3].status == PARTIAL  # incomplete: max_tokens
    assert [m.role for m in fasting.messages] == ["user", "assistant"]  # same second: list order
    assert fasting.skipped == ["message msg_b3: empty"]


def test_a_file_that_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "ids.txt"
    bad.write_text("chat ids, one a line\n")
    with pytest.raises(SourceError):
        SourceFile(bad)


def test_what_a_database_cannot_hold(tmp_path: Path) -> None:
    record = json.loads(GLOO_V1.read_text().splitlines()[0])
    record["messages"][0]["message"] = "nul\x00inside"
    chatgpt = json.loads(CHATGPT.read_text())[1]
    chatgpt["conversation_id"] = "x" * 300
    (tmp_path / "v1.jsonl").write_text(json.dumps(record) + "\n" + json.dumps(record) + "\n")
    (tmp_path / "chatgpt.json").write_text(json.dumps([chatgpt]))
    [entry, _] = list(SourceFile(tmp_path / "v1.jsonl"))
    assert entry.chat is not None and entry.chat.messages[0].content == "nul\ufffdinside"
    assert entry.chat.problems == [
        f"message {entry.chat.messages[0].source_id}: NUL characters replaced"
    ]
    [long] = list(SourceFile(tmp_path / "chatgpt.json"))
    assert long.chat is None and "longer than 200 characters" in (long.error or "")
