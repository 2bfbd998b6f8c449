"""Importing into the SDK's client-managed database (`emmaus_client.storage`, the tables a team
keeps in its own application database): the same chats, branches and idempotency as Emmaus'
store, through the SDK's `ConversationManager`. A conversation is found again by its
`source_id` (`'<format>:<id>'`) and each message by its own; v1 chat and message ids are kept
as the conversation's and messages' ids. What has no column goes in `meta`: a message's v1
`query_id`, `sources`, `suggestions`, a reply's status when it is not complete; a chat's `pin`
and caller-set `summary` (kept out of the SDK's own `summary`, which stands in for history),
and for a v1 chat its id as `v1_chat_id`, so `ChatService`'s old path (the roll-out's v1 side)
goes on in that same chat."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from emmaus.conversations.schema import COMPLETE
from emmaus.migration.source import SourceChat, SourceMessage
from emmaus.migration.target import (
    APPENDED,
    CONFLICT,
    CREATED,
    UNCHANGED,
    ImportOutcome,
    StoredChat,
    StoredMessage,
    query_ids,
)
from emmaus_client.chat.service import V1_CHAT
from emmaus_client.storage import ConversationManager, DuplicateSource, NewMessage


async def open_sdk_target(
    database_url: str,
    user_id: str,
    count: Callable[[str], int],
    *,
    write: bool,
    owners_sql: str | None = None,
) -> SdkTarget:
    """`owners_sql`: the operator's query on the same database whose rows are (chat id in the
    source, the application's user id): each conversation goes to its own user (else to
    `user_id`)."""
    manager = ConversationManager(database_url)
    if write:
        await manager.migrate()
    owners: dict[str, str] = {}
    if owners_sql:
        async with manager.engine.connect() as connection:
            result = await connection.execute(text(owners_sql))
            owners = {str(row[0]): str(row[1]) for row in result if row[0] and row[1]}
    return SdkTarget(manager, user_id, count, owners)


def _meta(message: SourceMessage, query_id: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = dict(message.meta or {})
    if query_id:
        meta["query_id"] = query_id
    if message.sources:
        meta["sources"] = message.sources
    if message.suggestions:
        meta["suggestions"] = message.suggestions
    if message.status != COMPLETE:
        meta["status"] = message.status
    return meta


class SdkTarget:
    def __init__(
        self,
        manager: ConversationManager,
        user_id: str,
        count: Callable[[str], int],
        owners: dict[str, str] | None = None,
    ) -> None:
        self.manager = manager
        self.user_id = user_id
        self.count = count
        self.owners = owners or {}

    def owner(self, chat: SourceChat) -> str:
        return self.owners.get(chat.source_id, self.user_id)

    async def aclose(self) -> None:
        await self.manager.aclose()

    async def import_chat(
        self, chat: SourceChat, *, dry_run: bool = False, append: bool = True
    ) -> ImportOutcome:
        owner = self.owner(chat)
        found = await self.manager.find_conversation(source_id=chat.key)
        if found is not None and found.user_id != owner:
            return ImportOutcome(CONFLICT, None, detail="imported before for another user")
        if found is None:
            if dry_run:
                return ImportOutcome(CREATED, None, len(chat.messages))
            meta: dict[str, Any] = {"pin": True} if chat.pin else {}
            if chat.summary:
                meta["summary"] = chat.summary
            if chat.format == "v1":  # ChatService's old path goes on in the same v1 chat
                meta[V1_CHAT] = chat.source_id
            try:
                found = await self.manager.create_conversation(
                    owner,
                    title=chat.title,
                    source_id=chat.key,
                    meta=meta,
                    created_at=chat.created_at,
                    conversation_id=chat.source_id if chat.keep_id else None,
                )
            except DuplicateSource:
                return await self.import_chat(chat, dry_run=dry_run, append=append)
            except IntegrityError as exc:  # the kept id is another conversation's
                if not chat.keep_id:
                    raise
                return ImportOutcome(CONFLICT, None, detail=f"conversation id taken: {exc}")
            status = CREATED
        else:
            status = APPENDED
        stored = await self.manager.get_tree(found.id)
        known = {m.source_id: m for m in stored if m.source_id is not None}
        new = [m for m in chat.messages if m.source_id not in known]
        ids = {source: m.id for source, m in known.items()}
        ids.update({m.source_id: m.source_id if m.keep_id else uuid.uuid4().hex for m in new})
        leaf = ids.get(chat.leaf) if chat.leaf else None
        if status == APPENDED and (not new or not append):
            # Nothing new; a head left behind by an import cut short is put right.
            if append and leaf and found.head_message_id != leaf and not dry_run:
                await self.manager.set_head(found.id, leaf)
            return ImportOutcome(UNCHANGED, found.id)
        if dry_run:
            return ImportOutcome(APPENDED, found.id, len(new))
        stored_queries = {s: m.meta.get("query_id") for s, m in known.items()}
        queries = query_ids(chat, lambda: f"q{uuid.uuid4()}", stored_queries)
        batch = [
            NewMessage(
                message.role,
                message.content,
                tokens_used=self.count(message.content),
                model=message.model,
                id=ids[message.source_id],
                parent_id=ids.get(message.parent) if message.parent else None,
                source_id=message.source_id,
                meta=_meta(message, queries.get(message.source_id)),
                created_at=message.created_at or chat.created_at,
            )
            for message in new
        ]
        try:
            await self.manager.add_messages(found.id, batch, activate=False)
        except DuplicateSource as exc:
            return ImportOutcome(CONFLICT, found.id, detail=str(exc))
        if leaf:
            await self.manager.set_head(found.id, leaf)
        return ImportOutcome(status, found.id, len(batch))

    async def stored_chat(self, chat: SourceChat) -> StoredChat | None:
        found = await self.manager.find_conversation(source_id=chat.key)
        if found is None or found.user_id != self.owner(chat):
            return None
        tree = await self.manager.get_tree(found.id)
        source_of = {m.id: m.source_id or m.id for m in tree}
        messages = [
            StoredMessage(
                id=m.id,
                source_id=m.source_id,
                parent=source_of.get(m.parent_id, m.parent_id) if m.parent_id else None,
                role=m.role,
                content=m.content,
            )
            for m in tree
        ]
        active = await self.manager.get_history(found.id)
        return StoredChat(found.id, messages, [source_of[m.id] for m in active])
