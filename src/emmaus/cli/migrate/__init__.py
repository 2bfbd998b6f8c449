"""`emmaus migrate`: move chats from Gloo's v1 Chat API (or another Emmaus, ChatGPT, Open WebUI,
OpenAI Assistants) into Emmaus' store or the SDK's client-managed database.

```
emmaus migrate export --url https://platform.ai.gloo.com --ids-file ids.txt -o chats.jsonl
emmaus migrate validate chats.jsonl
emmaus migrate import chats.jsonl --client emc_...
emmaus migrate verify chats.jsonl --client emc_...
```
Gloo lists no chats, so `export` needs the chat ids your app kept (arguments, `--ids-file`, or
`--sql` against your database). Imported v1 chats keep their ids: an app that stored them carries
on against Emmaus. The logic lives in `emmaus.migration`; this package is the command line.
"""

from __future__ import annotations

import typer

from emmaus.cli.migrate.checks import validate, verify
from emmaus.cli.migrate.exporting import export
from emmaus.cli.migrate.importing import import_

app = typer.Typer(
    help="Move chats from Gloo (or another Emmaus, ChatGPT, Open WebUI, Assistants) here.",
    no_args_is_help=True,
)
app.command()(export)
app.command()(validate)
app.command("import")(import_)
app.command()(verify)

__all__ = ["app", "export", "import_", "validate", "verify"]
