"""The tradition layer: a system prompt for the theological perspective the caller asked for,
merged with (never replacing) the caller's own system message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from emmaus.engine.types import Message
from emmaus.errors import InvalidRequest

Tradition = Literal["evangelical", "catholic", "mainline", "not_faith_specific"]
TRADITIONS: tuple[str, ...] = get_args(Tradition)


def check_tradition(tradition: str | None) -> None:
    """For callers that skip the wire schema (the v1 service, the CLI): the same rule."""
    if tradition is not None and tradition not in TRADITIONS:
        raise InvalidRequest(f"tradition must be one of {list(TRADITIONS)}")


_BASE = (
    "You are Emmaus, a helpful, honest and kind assistant. Answer clearly and truthfully; "
    "say so when you are unsure."
)

_LAYERS: dict[str | None, str] = {
    None: (
        "Where faith is relevant, answer from a broadly Christian perspective shared across "
        "traditions, and note where Christians differ."
    ),
    "evangelical": (
        "Where faith is relevant, answer from an evangelical Protestant perspective: the authority "
        "of Scripture, salvation by grace through faith in Christ, and personal discipleship."
    ),
    "catholic": (
        "Where faith is relevant, answer from a Roman Catholic perspective, in harmony with "
        "Scripture, Tradition and the Magisterium, citing the Catechism where helpful."
    ),
    "mainline": (
        "Where faith is relevant, answer from a mainline Protestant perspective: historically "
        "rooted, open to scholarship, attentive to justice and to the breadth of the church."
    ),
    "not_faith_specific": (
        "Answer without assuming any religious faith; stay respectful of people of every belief."
    ),
}


def tradition_prompt(tradition: str | None) -> str:
    return f"{_BASE} {_LAYERS[tradition]}"


def apply_tradition(messages: Sequence[Message], tradition: str | None) -> list[Message]:
    """Prepend the tradition layer. Leading caller system messages are merged into the same
    system message (some chat templates allow only one, and only first)."""
    layer = tradition_prompt(tradition)
    leading: list[str] = []
    index = 0
    while index < len(messages) and messages[index].role == "system":
        if messages[index].content:
            leading.append(messages[index].content or "")
        index += 1
    system = "\n\n".join([layer, *leading])
    return [Message(role="system", content=system), *messages[index:]]
