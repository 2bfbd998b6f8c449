"""`emmaus chat`: a conversation in the terminal, against a running server (`--url`) or the
app built in this process (`chat_session.py` answers the lines, `chat_terminal.py` reads them).

`emmaus chat export|import` were the Gloo export and import, which moved to `emmaus migrate`;
kept for one release, they forward to it with a notice on stderr.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from emmaus.cli import migrate

app = typer.Typer(
    help="Chat in the terminal, against a server (--url) or in this process: streamed answers, "
    "sources and suggestions; /help inside lists the commands, Ctrl-C stops an answer, Ctrl-D "
    "or /quit leaves. (export and import moved to `emmaus migrate`.)"
)


@app.callback(invoke_without_command=True)
def chat(
    ctx: typer.Context,
    url: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="A running Emmaus (e.g. http://127.0.0.1:8000); none: in this process"),
    ] = None,
    client_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="API client id (with --url, default: $CLIENT_ID)"),
    ] = None,
    client_secret: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="API client secret (with --url, default: $CLIENT_SECRET)"),
    ] = None,
    tradition: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Answer from a perspective (evangelical, catholic, ...)"),
    ] = None,
    model: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="A catalog model id, a model family, or auto (the default)"),
    ] = None,
    chat_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--chat", help="Continue this chat (its id)"),
    ] = None,
) -> None:
    """Chat in the terminal: streamed answers, sources, suggestions; /help inside lists the
    commands, Ctrl-C stops an answer, Ctrl-D or /quit leaves."""
    if ctx.invoked_subcommand is not None:
        return
    from emmaus.cli.chat_client import FAMILIES
    from emmaus.cli.chat_session import SessionState
    from emmaus.cli.chat_terminal import run_terminal
    from emmaus.engine.traditions import TRADITIONS

    if tradition is not None and tradition not in TRADITIONS:
        raise typer.BadParameter(f"one of {', '.join(TRADITIONS)}", param_hint="--tradition")
    state = SessionState(chat_id=chat_id, tradition=tradition)
    choice = " ".join((model or "").split())
    if choice.lower() in FAMILIES:
        state.model_family = choice.lower()
    elif choice and choice.lower() != "auto":
        state.model = choice
    console = Console(highlight=False)
    if url:
        opener, where = _remote(url, client_id, client_secret), url
    else:
        opener, where = _in_process(client_id, client_secret), "in this process"
    raise typer.Exit(run_terminal(opener, console, state, where=where))


def _remote(url: str, client_id: str | None, client_secret: str | None) -> Any:
    import contextlib

    import httpx

    from emmaus.cli.chat_client import ChatClient

    client_id = client_id or os.environ.get("CLIENT_ID")
    client_secret = client_secret or os.environ.get("CLIENT_SECRET")
    if not client_id or not client_secret:
        raise typer.BadParameter(
            "give --client-id and --client-secret, or export CLIENT_ID and CLIENT_SECRET "
            "(`emmaus serve` prints them the first time; `emmaus clients create` makes more)",
            param_hint="--url",
        )

    @contextlib.asynccontextmanager
    async def open_client() -> Any:
        # No read timeout: a slow model may think for a while between pieces.
        timeout = httpx.Timeout(10.0, read=None)
        client = ChatClient(httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout))
        try:
            await client.sign_in(client_id, client_secret)
            yield client
        finally:
            await client.aclose()

    return open_client


def _in_process(client_id: str | None, client_secret: str | None) -> Any:
    from emmaus.cli.chat_inprocess import in_process_client
    from emmaus.config import get_settings

    if bool(client_id) != bool(client_secret):
        raise typer.BadParameter("give both --client-id and --client-secret, or neither")
    credentials = (client_id, client_secret) if client_id and client_secret else None
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return lambda: in_process_client(settings, credentials=credentials)


def _moved(name: str) -> None:
    typer.echo(
        f"notice: `emmaus chat {name}` is now `emmaus migrate {name}`; "
        "the old name goes away in the next release.",
        err=True,
    )


def _forward(name: str, command: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(command)  # Typer reads the moved command's parameters through __wrapped__
    def forward(*args: Any, **kwargs: Any) -> None:
        _moved(name)
        command(*args, **kwargs)

    return forward


app.command("export", hidden=True)(_forward("export", migrate.export))
app.command("import", hidden=True)(_forward("import", migrate.import_))
