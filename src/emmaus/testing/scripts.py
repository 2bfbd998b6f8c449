"""The script words a request's `model` name is made of (see `scripted_upstream` for the table)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

FLAGS = {
    "echo",
    "recite",
    "fixed",
    "hang",
    "disconnect",
    "malformed",
    "no-finish",
    "no-usage",
    "no-done",
    "ping",
    "tools",
    "no-sse",
    "no-stream-options",
}
VALUED = {"slow", "drip", "fail", "flaky", "retryafter", "tokens", "size", "calls", "tag"}


@dataclass(frozen=True, slots=True)
class Script:
    flags: frozenset[str] = frozenset()
    slow: float = 0.0
    drip: float = 0.0
    fail: int | None = None
    flaky: int = 0
    retry_after: str | None = None
    tokens: int | None = None
    size: int | None = None
    calls: int = 1

    def has(self, flag: str) -> bool:
        return flag in self.flags


@lru_cache(maxsize=4096)
def parse_script(model: str) -> Script:
    flags: set[str] = set()
    values: dict[str, str] = {}
    for word in model.lower().split("+"):
        if word in FLAGS:
            flags.add(word)
            continue
        name, _, value = word.partition("-")
        if name in VALUED and value:
            values[name] = value
    try:
        return Script(
            flags=frozenset(flags),
            slow=float(values.get("slow", 0)) / 1000,
            drip=float(values.get("drip", 0)) / 1000,
            fail=int(values["fail"]) if "fail" in values else None,
            flaky=int(values.get("flaky", 0)),
            retry_after=values.get("retryafter"),
            tokens=int(values["tokens"]) if "tokens" in values else None,
            size=int(values["size"]) if "size" in values else None,
            calls=int(values.get("calls", 1)),
        )
    except ValueError:
        return Script(flags=frozenset(flags))
