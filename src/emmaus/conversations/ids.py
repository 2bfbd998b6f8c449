"""Identifiers of the store: a type letter plus a UUID4 (`c…` chat, `q…` query, `m…` message,
`u…` user, `s…` summary), the spelling of the v1 contract, so imported ids are kept as they are."""

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


def parse_v1_timestamp(text: str) -> datetime:
    """A v1 export's naive ISO-8601 UTC time (spec §8.5); a zone suffix, when present, is
    honoured. The API writes them (`emmaus.api.chats.protocol.v1_timestamp`)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
