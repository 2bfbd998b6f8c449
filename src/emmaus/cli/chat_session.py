"""The `emmaus chat` conversation: what a line typed at the prompt does, drawn with Rich.

`ChatSession.handle(line)` answers one line (a question or a `/command`) through a
`ChatClient`; `interrupt()` is what Ctrl-C does while it runs: the server is asked to stop the
reply (`PUT /ai/v1/message?task=stop`, which keeps the text written so far) and the stream ends
on its own; a second Ctrl-C, or one before the reply has ids, abandons the request. Reading the
lines is the caller's (`chat_terminal.py` for a terminal; tests feed them directly)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.markup import escape

from emmaus.cli.chat_client import FAMILIES, Ask, ChatClient, ChatClientError, Turn
from emmaus.engine.traditions import TRADITIONS

STOP_GRACE = 15.0  # seconds the stopped stream may take to end before it is abandoned

HELP = """\
Type a question and press Enter. Commands:
  /new                   start a new chat
  /history               this chat's messages
  /chats                 your chats, newest first;  /open <number|chat_id> continues one
  /tradition <name>      answer from a perspective: {traditions} (or "none")
  /model <id|auto|family> a catalog model, auto-routing, or a family: {families}
  /sources               the sources of the last answer, with their text
  /<n>                   ask the n-th suggested follow-up
  /help                  this help;  /quit (or Ctrl-D) leaves
Ctrl-C stops the answer being written and keeps what was written."""


@dataclass(slots=True)
class SessionState:
    chat_id: str | None = None
    title: str | None = None
    tradition: str | None = None
    model: str | None = None
    model_family: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    listed_chats: list[str] = field(default_factory=list)  # what /open <number> means

    @property
    def routing(self) -> str:
        if self.model:
            return f"model {self.model}"
        if self.model_family:
            return f"family {self.model_family}"
        return "auto-routing"


class ChatSession:
    def __init__(self, client: ChatClient, console: Console, state: SessionState | None = None):
        self.client = client
        self.console = console
        self.state = state or SessionState()
        self._turn: Turn | None = None  # the answer streaming now
        self._running: asyncio.Task[Any] | None = None  # what `interrupt` may cancel
        self._stop: asyncio.Task[None] | None = None  # the stop request on its way
        self._abandoned = False  # `interrupt` cancelled what runs (any other cancel is real)
        self.stopped = False  # the last answer was stopped at the user's request

    # -- one line --------------------------------------------------------------------------

    async def handle(self, line: str) -> bool:
        """Answer one line; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        self._running = asyncio.current_task()
        self._abandoned = False
        try:
            if text.startswith("/"):
                return await self._command(text)
            await self.ask(text)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if not self._abandoned or task is None:
                raise
            task.uncancel()  # Ctrl-C abandoned it: back to the prompt
            self._print("\n[yellow]interrupted[/yellow]")
        except ChatClientError as exc:
            self._print(f"[red]error:[/red] {escape(exc.message)}")
        finally:
            self._running = None
        return True

    def interrupt(self) -> None:
        """Ctrl-C: stop the answer being written (the server keeps the partial text), or,
        when there is none or it was already asked to stop, abandon what runs."""
        turn = self._turn
        if turn is not None and turn.message_id and self._stop is None:
            self._stop = asyncio.ensure_future(self._stop_turn(turn))
            return
        self._abandon()

    def _abandon(self) -> None:
        if self._running is not None:
            self._abandoned = True
            self._running.cancel()

    # -- asking ----------------------------------------------------------------------------

    async def ask(self, query: str) -> None:
        state = self.state
        ask = Ask(query, state.chat_id, state.tradition, state.model, state.model_family)
        self.stopped = False
        async with self.client.send(ask) as turn:
            self._turn = turn
            state.chat_id = turn.chat_id or state.chat_id
            try:
                wrote = False
                async for piece in turn.pieces():
                    self._write(piece)
                    wrote = True
                if wrote:
                    self._write("\n")
            finally:
                self._turn = None
                stop, self._stop = self._stop, None
                if stop is not None and not stop.done():
                    stop.cancel()
        if turn.result is not None:
            self._show_result(turn.result)

    async def _stop_turn(self, turn: Turn) -> None:
        try:
            await self.client.stop(turn.chat_id, turn.message_id or "")
        except ChatClientError as exc:
            self._print(f"\n[red]could not stop it:[/red] {escape(exc.message)}")
            self._abandon()
            return
        self.stopped = True
        await asyncio.sleep(STOP_GRACE)  # the stream normally ends long before
        if self._turn is turn:
            self._abandon()

    def _show_result(self, result: dict[str, Any]) -> None:
        state = self.state
        state.chat_id = result.get("chat_id") or state.chat_id
        error = result.get("error") or {}
        if not result.get("success", True):
            if error.get("name") == "REPLY_STOPPED" or self.stopped:
                self._print("[yellow](stopped: the reply keeps what was written)[/yellow]")
            else:
                self._print(f"[red]the answer failed:[/red] {escape(str(error.get('message')))}")
        state.sources = list(result.get("sources") or [])
        state.suggestions = [s for s in result.get("suggestions") or [] if isinstance(s, str)]
        for number, source in enumerate(state.sources, start=1):
            self._print(f"[dim]  [{number}] {escape(_source_line(source))}[/dim]")
        for number, suggestion in enumerate(state.suggestions, start=1):
            self._print(f"[cyan]  /{number}[/cyan] {escape(suggestion)}")
        if result.get("model"):
            self._print(f"[dim]  {escape(str(result['model']))}[/dim]")

    # -- commands --------------------------------------------------------------------------

    async def _command(self, text: str) -> bool:
        name, _, rest = text[1:].partition(" ")
        name, rest = name.lower(), rest.strip()
        if name in ("quit", "exit", "q"):
            return False
        if name.isdigit():
            await self._suggested(int(name))
        elif name == "new":
            self.state.chat_id, self.state.title = None, None
            self.state.sources, self.state.suggestions = [], []
            self._print("[dim]new chat[/dim]")
        elif name == "history":
            await self._history()
        elif name == "chats":
            await self._chats()
        elif name == "open":
            await self._open(rest)
        elif name == "tradition":
            self._tradition(rest)
        elif name == "model":
            await self._model(rest)
        elif name == "sources":
            self._sources()
        elif name in ("help", "?"):
            self._print(
                escape(HELP.format(traditions=", ".join(TRADITIONS), families=", ".join(FAMILIES)))
            )
        else:
            self._print(f"[red]unknown command[/red] /{escape(name)}: /help lists them")
        return True

    async def _suggested(self, number: int) -> None:
        suggestions = self.state.suggestions
        if not 1 <= number <= len(suggestions):
            self._print(f"[red]no suggestion {number}[/red]")
            return
        question = suggestions[number - 1]
        self._print(f"[bold]> {escape(question)}[/bold]")
        await self.ask(question)

    async def _history(self) -> None:
        if self.state.chat_id is None:
            self._print("[dim]nothing said yet in this chat[/dim]")
            return
        chat = await self.client.history(self.state.chat_id)
        self.state.title = chat.get("title")
        self._print(f"[bold]{escape(str(chat.get('title') or 'Untitled chat'))}[/bold]")
        for message in chat.get("messages") or []:
            who = "you" if message.get("role") == "user" else "emmaus"
            style = "bold" if who == "you" else ""
            self._print(f"[{style or 'default'}]{who}:[/] {escape(str(message.get('message')))}")

    async def _chats(self) -> None:
        chats = await self.client.chats()
        self.state.listed_chats = [str(c["chat_id"]) for c in chats]
        if not chats:
            self._print("[dim]no chats yet[/dim]")
            return
        for number, chat in enumerate(chats, start=1):
            mark = "*" if chat["chat_id"] == self.state.chat_id else " "
            when = str(chat.get("updated_at") or "")[:16].replace("T", " ")
            title = escape(str(chat.get("title") or "Untitled chat"))
            self._print(f"{mark}{number:>3}  {title}  [dim]{when}  {chat['chat_id']}[/dim]")
        self._print("[dim]/open <number> continues one[/dim]")

    async def _open(self, which: str) -> None:
        listed = self.state.listed_chats
        if which.isdigit() and 1 <= int(which) <= len(listed):
            chat_id = listed[int(which) - 1]
        elif which and not which.isdigit():
            chat_id = which
        else:
            self._print("[red]/open needs a number from /chats or a chat id[/red]")
            return
        chat = await self.client.history(chat_id)  # a 404 for a chat that is not ours
        self.state.chat_id, self.state.title = chat_id, chat.get("title")
        self.state.sources, self.state.suggestions = [], []
        count = len(chat.get("messages") or [])
        title = escape(str(chat.get("title") or "Untitled chat"))
        self._print(f"continuing [bold]{title}[/bold] ({count} messages; /history shows them)")

    def _tradition(self, name: str) -> None:
        if not name:
            self._print(f"tradition: {self.state.tradition or 'none (the chat default)'}")
        elif name.lower() in ("none", "off", "default"):
            self.state.tradition = None
            self._print("tradition: none")
        elif name.lower() in TRADITIONS:
            self.state.tradition = name.lower()
            self._print(f"tradition: {self.state.tradition}")
        else:
            self._print(f"[red]unknown tradition[/red] {escape(name)}: {', '.join(TRADITIONS)}")

    async def _model(self, choice: str) -> None:
        state = self.state
        if not choice:
            models = await self.client.models()
            self._print(f"answering with {escape(state.routing)}; the catalog:")
            for model in models:
                family = model.get("family") or ""
                self._print(f"  {escape(str(model.get('id')))}  [dim]{escape(str(family))}[/dim]")
            return
        lowered = " ".join(choice.lower().split())
        if lowered == "auto":
            state.model, state.model_family = None, None
        elif lowered in FAMILIES:
            state.model, state.model_family = None, lowered
        else:
            known = {str(m.get("id")) for m in await self.client.models()}
            if choice not in known:
                self._print(f"[red]no model[/red] {escape(choice)} in the catalog: /model lists it")
                return
            state.model, state.model_family = choice, None
        self._print(f"answering with {escape(state.routing)}")

    def _sources(self) -> None:
        if not self.state.sources:
            self._print("[dim]the last answer had no sources[/dim]")
            return
        for number, source in enumerate(self.state.sources, start=1):
            self._print(f"[bold][{number}] {escape(_source_line(source))}[/bold]")
            if source.get("url"):
                self._print(f"    {escape(str(source['url']))}")
            snippet = " ".join(str(source.get("snippet") or "").split())
            if snippet:
                self._print(f"    {escape(snippet)}")

    # -- drawing ---------------------------------------------------------------------------

    def _write(self, text: str) -> None:
        """Model text as it is: never read as markup (the console is flushed at once, so a
        piped terminal sees each piece when it comes)."""
        self.console.print(text, end="", markup=False, highlight=False, soft_wrap=True)
        with contextlib.suppress(OSError, ValueError):
            self.console.file.flush()

    def _print(self, markup: str) -> None:
        self.console.print(markup, highlight=False)
        with contextlib.suppress(OSError, ValueError):
            self.console.file.flush()


def _source_line(source: dict[str, Any]) -> str:
    title = source.get("item_title") or source.get("item_id") or "untitled"
    publisher = source.get("publisher")
    return f"{title} ({publisher})" if publisher else str(title)
