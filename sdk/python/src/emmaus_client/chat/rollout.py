"""Gradual roll-out: which path a user's turn takes. A stable hash of the user id puts each user
in a bucket in [0, 100); users whose bucket is under `percent` take the new path (Completions v2
over the client-managed store), the others the old v1 endpoint, or, in shadow mode, both (the
old answer returned, the differences logged). Raising `percent` only ever moves users from old
to new, never back, and the same user always lands on the same side."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

Path = Literal["new", "old", "shadow"]


@dataclass(frozen=True, slots=True)
class Rollout:
    percent: float = 100.0
    shadow: bool = False  # users not on the new path: call both, answer with the old one
    salt: str = "emmaus-rollout"  # change it to reshuffle who goes first
    include: frozenset[str] = field(default_factory=frozenset)  # always new (staff, testers)

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ValueError("percent must be between 0 and 100")

    def bucket(self, user_id: str) -> float:
        """The user's place in [0, 100), the same on every machine and every run."""
        digest = hashlib.sha256(f"{self.salt}:{user_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % 10_000 / 100

    def path_for(self, user_id: str) -> Path:
        if user_id in self.include or self.bucket(user_id) < self.percent:
            return "new"
        return "shadow" if self.shadow else "old"
