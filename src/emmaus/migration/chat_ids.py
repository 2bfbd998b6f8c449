"""Which chats to export: ids given on the command line, in a file (one a line, `#` comments),
or returned by a query against the application's own database (the first column of each row;
the operator's own SQL, run as given in a transaction that is rolled back)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from emmaus.store import normalise_url


def from_file(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text("utf-8").splitlines())
    return [line for line in lines if line]


async def _query(database_url: str, sql: str) -> list[str]:
    engine = create_async_engine(normalise_url(database_url))
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text(sql))
            found = [str(row[0]) for row in rows if row[0] is not None]
            await conn.rollback()
            return found
    finally:
        await engine.dispose()


def from_sql(database_url: str, sql: str) -> list[str]:
    return asyncio.run(_query(database_url, sql))


def unique(ids: Iterable[str]) -> list[str]:
    """In their first order, each once."""
    return list(dict.fromkeys(i.strip() for i in ids if i.strip()))
