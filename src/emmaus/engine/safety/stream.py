"""Screening a streamed answer: release text only once it has been screened with what follows.

`feed` adds a delta and returns the text that is safe to send now. Text is screened in windows
(the last `window` characters, released tail included) every `every` new characters (half the
hold by default), and only text at least `hold` characters behind the newest is released: anything
that would be flagged within `hold` characters of starting never reaches the client. Once a
window is flagged, `feed` returns "" for good and `finish` returns "" with the verdict.

The one exception is the answer's opening: its first `opening` characters (whole words) leave as
soon as they are screened on their own, so the reader sees the answer start at once instead of
after `hold` characters. A few words carry no instructions ("Sure, here is"); whatever follows
them is held as usual, and a flag later still ends the stream with only the opening sent."""

from __future__ import annotations

from collections.abc import Callable

from emmaus.engine.safety.verdict import Verdict


class StreamScreen:
    def __init__(
        self,
        screen: Callable[[str], Verdict],
        hold: int = 200,
        window: int = 1000,
        every: int | None = None,
        opening: int = 0,
    ) -> None:
        # Screening every half hold keeps flagged text `hold // 2` characters from release at
        # least, at a few classifier calls per answer (each costs ~0.1-0.2 ms).
        every = every or max(24, hold // 2)
        if not 0 < every <= hold < window or not 0 <= opening < hold:
            raise ValueError("need 0 < every <= hold < window and 0 <= opening < hold")
        self._screen = screen
        self.hold, self.window, self.every, self.opening = hold, window, every, opening
        self._parts: list[str] = []  # everything fed, for the final screen
        self._released_tail = ""  # the last window's worth of released text
        self._pending = ""
        self._unscreened = 0
        self.verdict: Verdict = Verdict.NONE

    @property
    def flagged(self) -> bool:
        return self.verdict.flagged

    def _check(self, text: str) -> bool:
        verdict = self._screen(text)
        if verdict.flagged:
            self.verdict = verdict
            self._pending = ""
            return False
        return True

    def feed(self, delta: str) -> str:
        if self.flagged or not delta:
            return ""
        self._parts.append(delta)
        self._pending += delta
        self._unscreened += len(delta)
        if not self._released_tail and self.opening:
            return self._open()
        if self._unscreened < self.every or len(self._pending) <= self.hold:
            return ""  # (a screen now could release nothing: `finish` screens a short answer)
        self._unscreened = 0
        # Screen the pending text in window-sized pieces (a delta may be large), each with the
        # text just before it in front for context.
        lead = self.window // 3
        start = 0
        while start < len(self._pending):
            head = (self._released_tail + self._pending[:start])[-lead:]
            piece = self._pending[start : start + self.window - lead]
            if not self._check(head + piece):
                return ""
            start += len(piece)
        cut = len(self._pending) - self.hold
        if cut <= 0:
            return ""
        space = self._pending.rfind(" ", 0, cut)
        if space >= 0 and space > cut - 40:  # end on a word boundary when one is close
            cut = space + 1
        released, self._pending = self._pending[:cut], self._pending[cut:]
        self._released_tail = (self._released_tail + released)[-self.window :]
        return released

    def _open(self) -> str:
        """The opening's whole words, screened on their own (cut mid-word only when the first
        `opening` characters hold no space, as in unspaced scripts)."""
        pending = self._pending
        if len(pending) > self.opening:
            space = pending.rfind(" ", 0, self.opening)
            cut = space + 1 if space > 0 else self.opening
        else:
            space = pending.rfind(" ")
            if space <= 0 or not pending[:space].strip():
                return ""  # no whole word yet: wait for the next delta
            cut = space + 1
        opening = pending[:cut]
        if not self._check(opening):
            return ""
        self._pending = pending[cut:]
        self._unscreened = len(self._pending)
        self._released_tail = opening
        return opening

    def finish(self) -> tuple[str, Verdict]:
        """The held remainder ("" if flagged) and the verdict of the whole output."""
        if self.flagged:
            return "", self.verdict
        whole = "".join(self._parts)
        tail = self._released_tail + self._pending
        # A short answer is its own tail: one check then covers both.
        if whole and self._pending and len(whole) > len(tail) and not self._check(tail):
            return "", self.verdict
        if whole and not self._check(whole):
            return "", self.verdict
        remainder, self._pending = self._pending, ""
        return remainder, self.verdict
