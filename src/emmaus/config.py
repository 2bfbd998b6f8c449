"""Settings: `EMMAUS_*` environment variables, then an optional TOML file named by
`EMMAUS_CONFIG`, then the defaults below."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EMMAUS_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Where SQLite, keys and indexes live")
    models: Path | None = Field(default=None, description="Model catalog TOML; built-in if unset")
    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str | None = None
    redis_url: str | None = None

    # Embedded model worker
    # Half the cores: llama.cpp's threads spin-wait on each other, and on a busy 2-core machine
    # two threads ran 10-40x slower than one.
    local_threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 2) // 2), ge=1)
    local_queue_size: int = Field(default=16, ge=1, description="Waiting requests before a 503")

    # OpenAI-compatible upstreams
    upstream_connect_timeout: float = Field(default=5.0, gt=0)
    upstream_timeout: float = Field(default=120.0, gt=0, description="Read timeout per chunk")
    upstream_retries: int = Field(default=2, ge=0)
    upstream_backoff: float = Field(default=0.25, ge=0, description="First retry delay, seconds")
    upstream_max_connections: int = Field(default=256, ge=1)

    # Storage
    auto_migrate: bool = Field(default=True, description="Run database migrations at start")
    redis_prefix: str = Field(default="emmaus:", description="Prefix of every Redis key we write")

    # Auth: OAuth2 client credentials and JWT access tokens
    token_ttl: int = Field(default=3600, ge=1, le=86_400, description="Access token lifetime, s")
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="HS256 key (>= 32 chars) shared by all instances; else <data_dir>/jwt.key",
    )
    jwt_issuer: str = Field(default="emmaus", description="`iss` claim issued and required")
    jwt_leeway: float = Field(default=5.0, ge=0, description="Clock skew tolerated, seconds")
    client_cache_ttl: float = Field(
        default=5.0, ge=0, description="Seconds a client row (disabled flag, limits) is cached"
    )

    # Rate limits per client (a client row may override them); 0 = unlimited
    rate_limit_rpm: int = Field(default=600, ge=0, description="Requests per minute per client")
    rate_limit_tpm: int = Field(default=1_000_000, ge=0, description="Tokens per minute per client")
    tpm_reserve_output: int = Field(
        default=256, ge=0, description="Output tokens reserved for a call that names no max"
    )
    token_endpoint_ip_rpm: int = Field(default=60, ge=0, description="/oauth2/token calls per IP")
    token_endpoint_client_rpm: int = Field(
        default=30,
        ge=0,
        description="Failed /oauth2/token attempts per minute for one client id from one address "
        "(past them that address waits; the client itself, elsewhere, is not locked out)",
    )
    header_timeout: float = Field(
        default=10.0, ge=0, description="Seconds a client may take to send a request's head"
    )
    body_timeout: float = Field(
        default=30.0, ge=0, description="Seconds a request body may pause between pieces"
    )
    keep_alive_timeout: float = Field(
        default=5.0, gt=0, description="Seconds an idle keep-alive connection stays open"
    )
    shutdown_timeout: float = Field(
        default=30.0,
        ge=0,
        description="On SIGTERM, seconds running requests and streams get to finish before "
        "they are cut (their v1 replies settled as partial)",
    )
    max_connections: int = Field(
        default=2048, ge=0, description="Connections and requests at once; more get a 503"
    )
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated proxy addresses whose X-Forwarded-For is believed "
        "(default none: the peer address is the client's)",
    )

    # What one upload may cost to read (in a child process), and one client's library
    ingest_cpu_seconds: int = Field(default=20, ge=1, description="CPU seconds to read a file")
    ingest_memory_mb: int = Field(default=1024, ge=64, description="Memory to read a file")
    ingest_timeout: float = Field(default=30.0, gt=0, description="Seconds to read a file")
    ingest_max_text_chars: int = Field(default=2_000_000, ge=1000)
    ingest_max_pages: int = Field(default=1000, ge=1)
    ingest_max_chunks: int = Field(default=5000, ge=1)
    library_max_documents: int = Field(default=1000, ge=1, description="Per client")
    library_max_bytes: int = Field(default=256 << 20, ge=1024, description="Per client")
    library_max_chunks: int = Field(default=100_000, ge=1, description="Per client")

    max_request_bytes: int = Field(default=1 << 20, ge=1024)
    max_upload_bytes: int = Field(default=32 << 20, ge=1024, description="Library uploads")
    log_level: str = "info"
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object a line, with its request id"
    )

    # Operations (docs/operations.md): metrics, the usage ledger, readiness
    metrics: bool = Field(default=True, description="Record Prometheus metrics, serve /metrics")
    metrics_auth: Literal["admin", "none"] = Field(
        default="admin", description="/metrics needs an admin-scope token, or nothing"
    )
    metrics_listen: str | None = Field(
        default=None,
        description="host:port serving /metrics apart from the API (then not on the API port)",
    )
    metrics_client_label: bool = Field(
        default=True, description="Label token and cost series by client (one series each)"
    )
    usage_ledger: bool = Field(default=True, description="Record every model call's usage")
    usage_flush_interval: float = Field(default=1.0, gt=0, description="Seconds between writes")
    usage_batch_size: int = Field(default=500, ge=1, description="Rows that trigger a write")
    usage_queue_size: int = Field(
        default=100_000, ge=1, description="Unwritten rows kept while the database is away"
    )
    readiness_timeout: float = Field(default=2.0, gt=0, description="Seconds per /readyz check")
    router_model: Path | None = Field(
        default=None, description="A router artifact from `emmaus router train` (else built-in)"
    )
    safety_policy: Path | None = Field(
        default=None, description="Safety policy TOML laid over the built-in one (docs/safety.md)"
    )
    safety_stream_hold: int = Field(
        default=200, ge=48, description="Characters of a stream held back until screened"
    )
    safety_stream_opening: int = Field(
        default=24,
        ge=0,
        le=47,
        description="Characters of a stream's first words sent once screened on their own",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("EMMAUS_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
