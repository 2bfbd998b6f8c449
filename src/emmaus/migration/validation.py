"""`emmaus migrate validate`: every problem of a source file, by chat, before anything is
imported. For v1 exports: the record schema, time order, question/answer pairs (a reply shares
its question's `query_id` and follows it), duplicate chat and message ids, and a tree's links.
For every format: records that cannot be read, broken trees (a parent missing, a cycle, an
unknown current node), messages older than their parent and chats with nothing to import."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from emmaus.migration.readers import Entry, SourceFile
from emmaus.migration.readers.v1 import parse_record
from emmaus.migration.record import ChatRecord, ReplyRecord, UserRecord, record_time
from emmaus.migration.source import SourceChat, SourceError


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # "line 3", "chat #2"
    chat: str | None  # the chat's id in its source, when known
    message: str


@dataclass(slots=True)
class Report:
    format: str
    chats: int = 0
    messages: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _pairs(record: ChatRecord) -> Iterator[str]:
    """A linear history alternates question, answer: each reply right after its question,
    with its query id."""
    question: UserRecord | None = None
    answered = True
    for item in record.messages:
        if isinstance(item, UserRecord):
            if question is not None and not answered:
                yield f"question {question.message_id} has no answer"
            question, answered = item, False
        elif question is None:
            yield f"reply {item.message_id} comes before any question"
        elif answered:
            yield f"reply {item.message_id} is a second answer to question {question.message_id}"
        else:
            if item.query_id != question.query_id:
                yield (
                    f"reply {item.message_id} has query_id {item.query_id}, its question "
                    f"{question.message_id} has {question.query_id}"
                )
            answered = True
    if question is not None and not answered:
        yield f"question {question.message_id} (the last) has no answer"


def _tree_links(record: ChatRecord) -> Iterator[str]:
    by_id: dict[str, UserRecord | ReplyRecord] = {}
    for item in record.messages:
        parent = by_id.get(item.parent_id) if item.parent_id else None
        if item.parent_id and parent is None:
            yield f"message {item.message_id}: parent {item.parent_id} is not before it"
        if isinstance(item, ReplyRecord):
            if not isinstance(parent, UserRecord):
                yield f"reply {item.message_id} does not follow a question"
            elif parent.query_id != item.query_id:
                yield f"reply {item.message_id} has another query_id than its question"
        by_id[item.message_id] = item
    if record.head_message_id and record.head_message_id not in by_id:
        yield f"head_message_id {record.head_message_id} is not one of its messages"


def _order(record: ChatRecord) -> Iterator[str]:
    previous = None
    for item in record.messages:
        moment = record_time(item.timestamp)
        if previous is not None and moment is not None and moment < previous[1]:
            yield f"message {item.message_id} is older than {previous[0]}, listed before it"
        previous = (item.message_id, moment)


def _v1_checks(raw: object) -> Iterator[str]:
    try:
        record, _ = parse_record(raw)
    except SourceError as exc:
        yield f"schema: {exc}"
        return
    if record.is_tree:
        yield from _tree_links(record)
    else:
        yield from _order(record)
        yield from _pairs(record)


def _chat_checks(chat: SourceChat) -> Iterator[str]:
    yield from chat.problems
    if not chat.messages:
        yield "no message to import"
    by_id = {m.source_id: m for m in chat.messages}
    for message in chat.messages:
        parent = by_id.get(message.parent) if message.parent else None
        older = parent and message.created_at and parent.created_at
        if older and message.created_at < parent.created_at:  # type: ignore[operator,union-attr]
            yield f"message {message.source_id} is older than its parent {parent.source_id}"


class Validator:
    """Checks a file entry by entry (so a progress bar can follow), remembering the ids seen."""

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.report = Report(source.format)
        self._chats: dict[str, str] = {}  # chat id -> where first seen
        self._messages: dict[str, str] = {}  # message id -> where first seen

    def check(self, entry: Entry) -> None:
        where = self.source.where(entry)
        chat_id = entry.chat.source_id if entry.chat else _raw_id(entry.record)
        self.report.chats += 1

        def problem(text: str) -> None:
            self.report.problems.append(Problem(where, chat_id, text))

        if entry.error is not None:
            problem(entry.error)
        if self.source.format == "v1" and entry.record is not None:
            for text in _v1_checks(entry.record):
                if entry.error is None or not text.startswith("schema:"):
                    problem(text)
        if entry.chat is None:
            return
        chat = entry.chat
        self.report.messages += len(chat.messages)
        if chat.source_id in self._chats:
            problem(f"the chat is also at {self._chats[chat.source_id]}")
        else:
            self._chats[chat.source_id] = where
        for message in chat.messages:
            seen = self._messages.get(message.source_id)
            if seen is not None:
                here = "in this chat" if seen == where else f"also at {seen}"
                problem(f"message id {message.source_id} is used twice ({here})")
            else:
                self._messages[message.source_id] = where
        for text in _chat_checks(chat):
            problem(text)


def _raw_id(record: object) -> str | None:
    if isinstance(record, dict):
        for key in ("chat_id", "conversation_id", "id"):
            if isinstance(record.get(key), str):
                return str(record[key])
    return None
