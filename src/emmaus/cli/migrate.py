"""`emmaus chat`: move v1 chats out of Gloo (or another Emmaus) and into this store.

```
emmaus chat export --url https://platform.ai.gloo.com c1234... c5678... > chats.jsonl
emmaus chat import chats.jsonl --client emc_...
```
Gloo lists no chats, so `export` needs the chat ids your app kept (arguments or `--ids-file`).
Imported chats keep their ids: an app that stored them carries on against Emmaus.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import httpx
import typer

from emmaus.catalog import load_catalog
from emmaus.config import get_settings
from emmaus.conversations.gloo_import import import_v1_history
from emmaus.conversations.manager import ConversationManager
from emmaus.errors import InvalidChatOperation
from emmaus.store import Database, upgrade_database

app = typer.Typer(help="Export v1 chats from Gloo and import them here.", no_args_is_help=True)

GLOO = "https://platform.ai.gloo.com"


def _token(client: httpx.Client, client_id: str, secret: str) -> str:
    response = client.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "api/access"},
        auth=(client_id, secret),
    )
    if response.status_code != 200:
        raise typer.BadParameter(f"token request failed: HTTP {response.status_code}")
    return str(response.json()["access_token"])


@app.command()
def export(
    chat_ids: Annotated[Optional[list[str]], typer.Argument(help="Chat ids to export")] = None,  # noqa: UP045
    url: Annotated[str, typer.Option(help="API base URL (Gloo or an Emmaus)")] = GLOO,
    client_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(envvar="GLOO_CLIENT_ID", help="OAuth2 client id"),
    ] = None,
    client_secret: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(envvar="GLOO_CLIENT_SECRET", help="OAuth2 client secret"),
    ] = None,
    ids_file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="A file of chat ids, one a line"),
    ] = None,
    output: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--output", "-o", help="JSON lines file (default: stdout)"),
    ] = None,
) -> None:
    """Write each chat's `GET /ai/v1/chat` history as one JSON line."""
    ids = list(chat_ids or [])
    if ids_file is not None:
        ids += [line.strip() for line in ids_file.read_text().splitlines() if line.strip()]
    if not ids:
        raise typer.BadParameter("no chat ids: pass them as arguments or with --ids-file")
    if not client_id or not client_secret:
        raise typer.BadParameter("--client-id and --client-secret (or GLOO_CLIENT_*) are needed")
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    failures = 0
    try:
        with httpx.Client(base_url=url.rstrip("/"), timeout=60) as client:
            headers = {"Authorization": f"Bearer {_token(client, client_id, client_secret)}"}
            for chat_id in ids:
                response = client.get("/ai/v1/chat", params={"chat_id": chat_id}, headers=headers)
                if response.status_code != 200:
                    failures += 1
                    typer.echo(f"{chat_id}: HTTP {response.status_code}", err=True)
                    continue
                out.write(json.dumps(response.json(), ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()
    typer.echo(f"exported {len(ids) - failures} of {len(ids)} chats", err=True)
    if failures:
        raise typer.Exit(1)


@app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="JSON lines written by `emmaus chat export`")],
    client: Annotated[str, typer.Option(help="The Emmaus client id the chats will belong to")],
    skip_existing: Annotated[bool, typer.Option(help="Skip chats already stored")] = False,
) -> None:
    """Store exported chats in the configured database, owned by `--client`."""
    settings = get_settings()
    catalog = load_catalog(settings.models)

    async def run() -> tuple[int, int]:
        from emmaus.system import Engine  # here, not at import: `emmaus --help` stays quick

        db = Database.from_settings(settings)
        engine = Engine.build(settings, catalog)  # only its token counter: no model runs
        manager = ConversationManager(db)
        imported = skipped = 0
        try:
            if settings.auto_migrate:
                await upgrade_database(db)
            for number, line in enumerate(source.read_text("utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    chat = await import_v1_history(
                        manager, client, json.loads(line), engine.counter.count
                    )
                except InvalidChatOperation as exc:
                    if not skip_existing:
                        raise typer.BadParameter(f"line {number}: {exc.message}") from exc
                    skipped += 1
                    continue
                imported += 1
                typer.echo(f"{chat.id}: {chat.last_seq} messages")
        finally:
            await engine.aclose()
            await db.aclose()
        return imported, skipped

    imported, skipped = asyncio.run(run())
    typer.echo(f"imported {imported} chats" + (f", skipped {skipped}" if skipped else ""), err=True)
