"""character_limit: the cap and the streaming cap."""

from __future__ import annotations

import pytest

from emmaus.services.chats.text import StreamCap, cap_text, limit_instruction

TEXT = "First sentence here. Second one is a bit longer! Is this the third? Yes."


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (None, TEXT),
        (0, TEXT),
        (len(TEXT), TEXT),
        (60, "First sentence here. Second one is a bit longer!"),
        (25, "First sentence here."),
        (16, "First sentence"),  # no sentence keeps half the allowance: a word boundary
        (4, "Firs"),  # no boundary at all: cut exactly
    ],
)
def test_cap_text(limit: int | None, expected: str) -> None:
    capped = cap_text(TEXT, limit)
    assert capped == expected
    assert not limit or len(capped) <= limit


def test_quotes_close_a_sentence() -> None:
    assert cap_text('He said "go." Then he left quickly.', 20) == 'He said "go."'


@pytest.mark.parametrize("limit", [None, 4, 16, 25, 60, 500])
@pytest.mark.parametrize("size", [1, 3, 7])
def test_streamed_pieces_add_up_to_the_capped_text(limit: int | None, size: int) -> None:
    cap = StreamCap(limit)
    sent = ""
    for start in range(0, len(TEXT), size):
        sent += cap.feed(TEXT[start : start + size])
        assert limit is None or len(sent) <= limit
        if cap.full:
            break
    rest, final = cap.finish()
    assert sent + rest == final == cap_text(TEXT, limit)


def test_the_model_is_told_the_limit() -> None:
    assert limit_instruction(None) is None
    assert "under 280 characters" in (limit_instruction(280) or "")
