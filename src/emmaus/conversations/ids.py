"""Identifiers and timestamps in the v1 contract's spelling: a type letter plus a UUID4
(`c…` chat, `q…` query, `m…` message, `u…` user, `s…` summary) and naive ISO-8601 UTC times."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

CHAT, QUERY, MESSAGE, USER, SUMMARY = "c", "q", "m", "u", "s"
ID_LENGTH = 37  # one letter + 36 characters of UUID

# Fixed namespace: a client's v1 `user_id` is derived from its client id, stable across restarts.
_USER_NAMESPACE = uuid.UUID("4b8f0d52-7a8e-4c59-9a43-3f1c2f6e5d10")


def new_id(kind: str) -> str:
    return f"{kind}{uuid.uuid4()}"


def user_id_for(client_id: str) -> str:
    """Stable per client, and shaped like every other id (a version-4 UUID)."""
    derived = uuid.uuid5(_USER_NAMESPACE, client_id)
    return f"{USER}{uuid.UUID(bytes=derived.bytes, version=4)}"


def v1_timestamp(moment: datetime) -> str:
    """`2025-07-14T18:29:42.060759`: UTC, microseconds, no zone suffix (spec §8.5)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def parse_v1_timestamp(text: str) -> datetime:
    """The inverse of `v1_timestamp`; a zone suffix, when present, is honoured."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
