"""The `emmaus chat` input loop: lines from the terminal (or a pipe) to a `ChatSession`, in one
event loop that lives as long as the session (the in-process app's, too).

Ctrl-C while a line is being answered goes to `ChatSession.interrupt` (a signal handler of
the loop); at the prompt it only clears the line. Ctrl-D (end of input) or /quit leaves."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack

from rich.console import Console
from rich.markup import escape

from emmaus.cli.chat_client import ChatClient, ChatClientError
from emmaus.cli.chat_session import ChatSession, SessionState

PROMPT = "you> "

ClientOpener = Callable[[], AbstractAsyncContextManager[ChatClient]]


def run_terminal(
    open_client: ClientOpener,
    console: Console,
    state: SessionState,
    *,
    where: str,
    read_line: Callable[[str], str] = input,
    interactive: bool | None = None,
) -> int:
    """Run the conversation until /quit or the end of input; the exit status."""
    if interactive is None:
        interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and ↑ history for input())
    loop = asyncio.new_event_loop()
    stack = AsyncExitStack()
    try:
        try:
            client = loop.run_until_complete(stack.enter_async_context(open_client()))
        except ChatClientError as exc:
            console.print(f"[red]error:[/red] {escape(exc.message)}", highlight=False)
            return 1
        session = ChatSession(client, console, state)
        if interactive:
            console.print(
                f"[bold]Emmaus chat[/bold] [dim]({escape(where)}; /help lists the commands, "
                "Ctrl-D leaves)[/dim]",
                highlight=False,
            )
        while True:
            try:
                line = read_line(PROMPT if interactive else "")
            except EOFError:
                break
            except KeyboardInterrupt:
                console.print("\n[dim](Ctrl-D or /quit leaves)[/dim]")
                continue
            if not interactive and line.strip():
                console.print(f"{PROMPT}{line}", markup=False, highlight=False)
            if not _answer(loop, session, line):
                break
        return 0
    finally:
        loop.run_until_complete(stack.aclose())
        loop.close()


def _answer(loop: asyncio.AbstractEventLoop, session: ChatSession, line: str) -> bool:
    task = loop.create_task(session.handle(line))
    handled = False
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        loop.add_signal_handler(signal.SIGINT, session.interrupt)  # Unix, main thread
        handled = True
    try:
        return loop.run_until_complete(task)
    finally:
        if handled:
            loop.remove_signal_handler(signal.SIGINT)
