"""`emmaus migrate verify`: each chat of a source file against what the target holds, message
by message: the count, the order, each message's role and content (a hash of both), its parent
and the active branch. Any difference is a mismatch, reported with the chat and message."""

from __future__ import annotations

from dataclasses import dataclass, field

from emmaus.migration.source import SourceChat
from emmaus.migration.target import StoredChat


@dataclass(frozen=True, slots=True)
class Mismatch:
    chat: str  # the chat's id in its source
    message: str | None  # a message's source id, when it is about one
    text: str


@dataclass(slots=True)
class Verification:
    chats: int = 0
    matching: int = 0
    messages: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def compare(source: SourceChat, stored: StoredChat | None) -> list[Mismatch]:
    chat = source.source_id

    def mismatch(text: str, message: str | None = None) -> Mismatch:
        return Mismatch(chat, message, text)

    if stored is None:
        return [mismatch("not in the target")]
    found: list[Mismatch] = []
    if len(stored.messages) != len(source.messages):
        counts = f"{len(source.messages)} messages in the source, {len(stored.messages)} stored"
        found.append(mismatch(counts))
    by_source = {m.source_id: m for m in stored.messages if m.source_id is not None}
    for message in source.messages:
        target = by_source.get(message.source_id)
        if target is None:
            found.append(mismatch("missing from the target", message.source_id))
            continue
        if target.role != message.role:
            roles = f"role {message.role} stored as {target.role}"
            found.append(mismatch(roles, message.source_id))
        elif target.content_hash != message.content_hash:
            found.append(
                mismatch(
                    f"content differs (hash {message.content_hash} in the source, "
                    f"{target.content_hash} stored)",
                    message.source_id,
                )
            )
        if target.parent != message.parent:
            found.append(
                mismatch(f"parent {message.parent} stored as {target.parent}", message.source_id)
            )
    known = {m.source_id for m in source.messages}
    for target in stored.messages:
        if target.source_id not in known:
            found.append(mismatch(f"stored message {target.id} is not in the source"))
    order = [m.source_id for m in stored.messages if m.source_id in known]
    expected = [m.source_id for m in source.messages if m.source_id in by_source]
    if order != expected:
        pairs = enumerate(zip(order, expected, strict=False))
        first = next((i for i, (a, b) in pairs if a != b), min(len(order), len(expected)))
        at = expected[first] if first < len(expected) else None
        found.append(mismatch(f"order differs from position {first + 1}", at))
    active = [m.source_id for m in source.active_branch()]
    if active != stored.active:
        found.append(mismatch("the active branch differs"))
    return found


def record(result: Verification, source: SourceChat, stored: StoredChat | None) -> None:
    found = compare(source, stored)
    result.chats += 1
    result.messages += len(source.messages)
    result.matching += not found
    result.mismatches.extend(found)
