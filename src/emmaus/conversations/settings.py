"""Knobs of the stateful chat layer (`EMMAUS_CHAT_*` environment variables)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ChatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMMAUS_CHAT_", extra="ignore")

    reply_max_tokens: int = Field(
        default=1024, ge=16, description="Longest reply, in tokens (capped by the model)"
    )
    context_margin: int = Field(
        default=256, ge=0, description="Tokens kept free in the window for estimate errors"
    )
    summaries: bool = Field(
        default=True, description="Condense older turns of long chats (else: only drop them)"
    )
    summarize_at: float = Field(
        default=0.75, gt=0, le=1, description="Summarise once the turns fill this much budget"
    )
    summary_keep: float = Field(
        default=0.35, gt=0, lt=1, description="Share of the budget left as verbatim turns"
    )
    summary_max_tokens: int = Field(default=256, ge=16)
    extras_max_tokens: int = Field(default=160, ge=16, description="Suggestions and title")
    extras_timeout: float = Field(
        default=20.0, gt=0, description="Seconds to wait for suggestions after the answer"
    )
    stale_after: float = Field(
        default=600.0, gt=0, description="Seconds before an unfinished reply counts as failed"
    )
    lease_timeout: float = Field(
        default=15.0, gt=0, description="Seconds without a heartbeat before an instance is dead"
    )
    heartbeat_interval: float = Field(
        default=5.0, gt=0, description="Seconds between an instance's heartbeats"
    )
    partial_save_interval: float = Field(
        default=1.0, gt=0, description="Seconds between saves of a streaming reply's text"
    )
    stop_poll_interval: float = Field(
        default=0.5,
        gt=0,
        description="Seconds between looks for stop requests from other instances (no Redis)",
    )
    stop_wait: float = Field(
        default=5.0, ge=0, description="Seconds a stop request waits for the reply to settle"
    )
    titles: bool = Field(
        default=True, description="Title chats with the model (else: the first question's words)"
    )
    default_sources_limit: int = Field(default=3, ge=0, le=10)
    context_cache: bool = Field(
        default=False, description="Cache recent context in Redis (needs EMMAUS_REDIS_URL)"
    )
