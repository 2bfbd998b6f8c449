"""Settings: `EMMAUS_*` environment variables, then an optional TOML file named by
`EMMAUS_CONFIG`, then the defaults below."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
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
    local_threads: int = Field(default=2, ge=1)
    local_queue_size: int = Field(default=16, ge=1, description="Waiting requests before a 503")

    # OpenAI-compatible upstreams
    upstream_connect_timeout: float = Field(default=5.0, gt=0)
    upstream_timeout: float = Field(default=120.0, gt=0, description="Read timeout per chunk")
    upstream_retries: int = Field(default=2, ge=0)
    upstream_backoff: float = Field(default=0.25, ge=0, description="First retry delay, seconds")
    upstream_max_connections: int = Field(default=256, ge=1)

    max_request_bytes: int = Field(default=1 << 20, ge=1024)
    log_level: str = "info"

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
