"""Shadow mode's comparison: the old path's answer against the new one's, as a report that is
logged (logger `emmaus_client.chat.shadow`, INFO; WARNING when the new path failed) and handed
to an optional callback for the application's own metrics."""

from __future__ import annotations

import difflib
import logging
from dataclasses import asdict, dataclass

log = logging.getLogger("emmaus_client.chat.shadow")


@dataclass(frozen=True, slots=True)
class ShadowReport:
    user_id: str
    conversation_id: str
    old_text: str
    new_text: str | None  # None when the new path failed
    similarity: float  # difflib's ratio of the two answers, 0..1 (0 when the new path failed)
    length_delta: int  # characters: new minus old
    old_model: str | None
    new_model: str | None
    new_routing_tier: str | None
    old_seconds: float
    new_seconds: float
    new_error: str | None

    @property
    def identical(self) -> bool:
        return self.new_text is not None and self.new_text.strip() == self.old_text.strip()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compare(
    *,
    user_id: str,
    conversation_id: str,
    old_text: str,
    old_model: str | None,
    old_seconds: float,
    new_text: str | None,
    new_model: str | None,
    new_tier: str | None,
    new_seconds: float,
    new_error: str | None,
) -> ShadowReport:
    ratio = 0.0
    if new_text is not None:
        ratio = difflib.SequenceMatcher(None, old_text, new_text, autojunk=False).ratio()
    return ShadowReport(
        user_id=user_id,
        conversation_id=conversation_id,
        old_text=old_text,
        new_text=new_text,
        similarity=round(ratio, 4),
        length_delta=len(new_text or "") - len(old_text),
        old_model=old_model,
        new_model=new_model,
        new_routing_tier=new_tier,
        old_seconds=round(old_seconds, 4),
        new_seconds=round(new_seconds, 4),
        new_error=new_error,
    )


def log_report(report: ShadowReport) -> None:
    fields = {
        "conversation_id": report.conversation_id,
        "similarity": report.similarity,
        "length_delta": report.length_delta,
        "old_model": report.old_model,
        "new_model": report.new_model,
        "new_error": report.new_error,
    }
    if report.new_error is not None:
        log.warning("shadow: the new path failed: %s", report.new_error, extra={"shadow": fields})
    else:
        log.info(
            "shadow: similarity %.2f, length %+d, %s vs %s",
            report.similarity,
            report.length_delta,
            report.old_model,
            report.new_model,
            extra={"shadow": fields},
        )
