"""Marker scanning and UTF-8 handling for streamed local generation (no model needed)."""

from __future__ import annotations

from emmaus.engine.providers.local.text import MarkerScanner, Utf8Pieces


def feed_all(scanner: MarkerScanner, pieces: list[str]) -> str:
    out = "".join(scanner.feed(piece) for piece in pieces)
    return out + scanner.flush()


def test_text_without_markers_passes_through() -> None:
    scanner = MarkerScanner([])
    assert scanner.feed("Hello") == "Hello"
    assert scanner.feed(" world") == " world"
    assert scanner.hit is None


def test_stop_string_split_across_pieces_is_cut_and_never_leaks() -> None:
    scanner = MarkerScanner(["STOP"])
    released = [scanner.feed(piece) for piece in ["Hello S", "T", "OP and more"]]
    assert released == ["Hello ", "", ""]
    assert scanner.hit == "STOP"
    assert scanner.feed("later") == ""
    assert scanner.flush() == ""


def test_partial_marker_is_released_when_it_turns_out_to_be_text() -> None:
    scanner = MarkerScanner(["<tool_call>"])
    assert scanner.feed("a <tool") == "a "
    assert scanner.feed("box>") == "<toolbox>"
    assert feed_all(MarkerScanner(["<tool_call>"]), ["ends with <to"]) == "ends with <to"


def test_earliest_marker_wins() -> None:
    scanner = MarkerScanner(["END", "<tool_call>"])
    assert scanner.feed("x <tool_call> then END") == "x "
    assert scanner.hit == "<tool_call>"


def test_utf8_pieces_join_split_characters() -> None:
    data = "é✓".encode()
    pieces = Utf8Pieces()
    text = "".join(pieces.feed(data[i : i + 1]) for i in range(len(data))) + pieces.flush()
    assert text == "é✓"
    assert Utf8Pieces().feed(data[:1]) == ""  # half a character is held, not garbled
