"""Optional Redis cache of each chat's recent context (off by default; the database stays the
source of truth).

One entry per chat: the newest settled messages of the active branch, newest first, starting at
message `start`. The context builder of the next turn asks for the entry that starts at its
question's parent, so a hit saves the history read. Settling a reply extends the entry by that
reply; every other write to the chat bumps the chat's generation, which invalidates the entry
(a put or extend racing with the bump carries the old generation and is never read)."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from emmaus.conversations.schema import PENDING
from emmaus.conversations.types import StoredMessage

log = logging.getLogger(__name__)

MAX_ROWS = 256
TTL_SECONDS = 3600


@dataclass(slots=True)
class CachedContext:
    start: str
    rows: list[StoredMessage]
    complete: bool  # the rows reach the root of the branch


def _encode(message: StoredMessage) -> dict[str, Any]:
    data = asdict(message)
    data["created_at"] = message.created_at.isoformat()
    data["updated_at"] = message.updated_at.isoformat()
    return data


def _decode(data: dict[str, Any]) -> StoredMessage:
    data["created_at"] = datetime.fromisoformat(data["created_at"])
    data["updated_at"] = datetime.fromisoformat(data["updated_at"])
    return StoredMessage(**data)


class ContextCache:
    """Failures of Redis are logged and treated as misses: the cache never breaks a turn."""

    def __init__(self, redis: Redis, *, prefix: str = "emmaus:", max_rows: int = MAX_ROWS) -> None:
        self.redis = redis
        self.prefix = f"{prefix}ctx:"
        self.max_rows = max_rows
        self.hits = 0
        self.misses = 0

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "emmaus:") -> ContextCache:
        return cls(Redis.from_url(url), prefix=prefix)

    def _keys(self, chat_id: str) -> tuple[str, str]:
        return f"{self.prefix}{chat_id}:gen", f"{self.prefix}{chat_id}:rows"

    async def _read(self, chat_id: str) -> tuple[int, dict[str, Any] | None]:
        gen_key, rows_key = self._keys(chat_id)
        generation, raw = await self.redis.mget(gen_key, rows_key)
        gen = int(generation or 0)
        if raw is None:
            return gen, None
        entry = orjson.loads(raw)
        return gen, entry if entry.get("gen") == gen else None

    async def lookup(self, chat_id: str, start: str) -> tuple[CachedContext | None, int | None]:
        """The entry starting at message `start`, and the chat's generation (hand it to `put`:
        read it before reading the database, so a write in between voids the put)."""
        try:
            gen, entry = await self._read(chat_id)
        except RedisError as exc:
            log.warning("context cache unavailable: %s", exc)
            return None, None
        if entry is None or entry["start"] != start:
            self.misses += 1
            return None, gen
        self.hits += 1
        return CachedContext(start, [_decode(r) for r in entry["rows"]], entry["complete"]), gen

    async def put(
        self, chat_id: str, gen: int, rows: list[StoredMessage], *, complete: bool
    ) -> None:
        """Remember `rows` (newest first) unless one is still pending (it would go stale)."""
        if not rows or any(r.status == PENDING for r in rows):
            return
        try:
            await self._write(chat_id, gen, rows, complete)
        except RedisError as exc:
            log.warning("context cache unavailable: %s", exc)

    async def extend(self, chat_id: str, reply: StoredMessage) -> None:
        """A settled reply continues the cached branch: put it in front. Otherwise (another
        branch, or a reply settled out of order) drop the entry."""
        try:
            gen, entry = await self._read(chat_id)
            if entry is None:
                return
            if entry["start"] != reply.parent_id or reply.status == PENDING:
                await self.invalidate(chat_id)
                return
            rows = [reply, *(_decode(r) for r in entry["rows"])]
            complete = entry["complete"] and len(rows) <= self.max_rows
            await self._write(chat_id, gen, rows, complete)
        except RedisError as exc:
            log.warning("context cache unavailable: %s", exc)

    async def invalidate(self, chat_id: str) -> None:
        gen_key, rows_key = self._keys(chat_id)
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(gen_key)
                pipe.expire(gen_key, TTL_SECONDS * 2)
                pipe.delete(rows_key)
                await pipe.execute()
        except RedisError as exc:
            log.warning("context cache unavailable: %s", exc)

    async def _write(
        self, chat_id: str, gen: int, rows: list[StoredMessage], complete: bool
    ) -> None:
        rows = rows[: self.max_rows]
        body = {
            "gen": gen,
            "start": rows[0].id,
            "complete": complete,
            "rows": [_encode(r) for r in rows],
        }
        _, rows_key = self._keys(chat_id)
        await self.redis.set(rows_key, orjson.dumps(body), ex=TTL_SECONDS)

    async def aclose(self) -> None:
        await self.redis.aclose()
