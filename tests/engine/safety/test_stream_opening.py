"""The opening of a streamed answer: its first words leave once screened on their own, and
everything after them is held back as before."""

from __future__ import annotations

from emmaus.engine.safety.layer import SafetyLayer
from emmaus.engine.safety.stream import StreamScreen
from emmaus.engine.safety.verdict import Verdict
from tests.engine.safety.test_layer import DANGEROUS_PARTS, HARMFUL_ANSWER


def _screen(calls: list[str]):
    def screen(text: str) -> Verdict:
        calls.append(text)
        return Verdict("refuse", ("illicit",)) if "BAD" in text else Verdict.NONE

    return screen


def test_the_first_whole_words_leave_at_once_then_the_hold_applies() -> None:
    calls: list[str] = []
    stream = StreamScreen(_screen(calls), hold=60, window=200, every=20, opening=24)
    assert stream.feed("Sure") == ""  # no whole word yet
    assert stream.feed(", here is") == "Sure, here "
    assert calls == ["Sure, here "]  # screened before it left
    text = "what you asked about, told in a few plain sentences. " * 3
    released = "".join(stream.feed(text[i : i + 6]) for i in range(0, len(text), 6))
    assert len(released) <= len("is ") + len(text) - 60  # the hold is back in force
    rest, verdict = stream.finish()
    assert "Sure, here " + released + rest == "Sure, here is" + text and not verdict.flagged


def test_the_opening_is_cut_at_a_word_within_its_length() -> None:
    stream = StreamScreen(_screen([]), hold=60, window=200, opening=24)
    assert stream.feed("In the beginning was the Word, and the Word") == "In the beginning was "


def test_unspaced_text_opens_with_its_first_characters() -> None:
    stream = StreamScreen(_screen([]), hold=60, window=200, opening=24)
    assert stream.feed("神" * 10) == ""  # short, and no word has ended
    assert stream.feed("神" * 30) == "神" * 24


def test_a_flagged_opening_is_not_sent_and_ends_the_stream() -> None:
    stream = StreamScreen(_screen([]), hold=60, window=200, opening=24)
    assert stream.feed("BAD things ") == "" and stream.flagged
    assert stream.feed("more") == "" and stream.finish()[0] == ""


def test_no_opening_by_default() -> None:
    stream = StreamScreen(_screen([]), hold=60, window=200)
    assert stream.feed("Sure, here is ") == ""


def test_the_dangerous_part_is_still_held_back_after_an_opening() -> None:
    screen = SafetyLayer.from_settings(None).stream_screen(hold=200, opening=24)
    released = "".join(screen.feed(HARMFUL_ANSWER[i : i + 5]) for i in range(0, 400, 5))
    tail, verdict = screen.finish()
    assert verdict.flagged and tail == ""
    assert released and HARMFUL_ANSWER.startswith(released) and len(released) <= 24
    for part in DANGEROUS_PARTS:
        assert part not in released
