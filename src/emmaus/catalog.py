"""The model catalog: data binding each public model id to a provider and its facts (family,
tier, context window, prices, capabilities). A built-in TOML file, replaced by `EMMAUS_MODELS`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FAMILIES: dict[str, str] = {
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "google": "Google",
    "open source": "Open Source",
}
CAPABILITIES = frozenset({"tools", "streaming", "json"})


class CatalogError(ValueError):
    """The catalog file is unreadable or inconsistent."""


class _ModelEntry(BaseModel):
    """One `[[models]]` table as written in the TOML file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    name: str | None = None
    family: str
    tier: int = Field(ge=1, le=3)
    provider: Literal["local", "openai"]
    vendor: str | None = None
    context_window: int = Field(ge=256)
    max_output_tokens: int | None = Field(default=None, ge=1)
    input_cost_per_1k: float = Field(default=0.0, ge=0)
    output_cost_per_1k: float = Field(default=0.0, ge=0)
    capabilities: list[str] = Field(default_factory=lambda: ["streaming"])
    priority: int = 0
    # provider = "local"
    path: str | None = None
    # provider = "openai"
    base_url: str | None = None
    api_key_env: str | None = None
    upstream_model: str | None = None
    timeout: float | None = Field(default=None, gt=0)

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        key = value.strip().lower().replace("_", " ")
        if key not in FAMILIES:
            raise ValueError(f"family must be one of {sorted(FAMILIES)}")
        return key

    @field_validator("capabilities")
    @classmethod
    def _known_capabilities(cls, value: list[str]) -> list[str]:
        unknown = set(value) - CAPABILITIES
        if unknown:
            raise ValueError(
                f"unknown capabilities {sorted(unknown)}; known: {sorted(CAPABILITIES)}"
            )
        return value

    @model_validator(mode="after")
    def _provider_fields(self) -> _ModelEntry:
        if self.provider == "openai" and not self.base_url:
            raise ValueError("an 'openai' provider needs base_url")
        return self


@dataclass(frozen=True, slots=True)
class ModelSpec:
    id: str
    name: str
    family: str  # the request enum value: "openai", "anthropic", "google", "open source"
    tier: int
    provider: str  # "local" | "openai"
    vendor: str
    context_window: int
    max_output_tokens: int
    input_cost_per_1k: float
    output_cost_per_1k: float
    capabilities: frozenset[str]
    priority: int = 0
    path: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    upstream_model: str | None = None
    timeout: float | None = None

    @property
    def family_display(self) -> str:
        return FAMILIES[self.family]

    @property
    def tier_name(self) -> str:
        return f"tier_{self.tier}"

    def supports(self, capability: str) -> bool:
        return capability in self.capabilities

    def to_public(self) -> dict[str, Any]:
        """The catalog entry as `GET /platform/v2/models` shows it (no URLs or key names)."""
        return {
            "id": self.id,
            "object": "model",
            "name": self.name,
            "family": self.family_display,
            "tier": self.tier_name,
            "provider": self.vendor,
            "context_window": self.context_window,
            "max_output_tokens": self.max_output_tokens,
            "pricing": {
                "input_per_1k_tokens": self.input_cost_per_1k,
                "output_per_1k_tokens": self.output_cost_per_1k,
                "currency": "USD",
            },
            "capabilities": sorted(self.capabilities),
            "owned_by": self.vendor,
        }


class Catalog:
    """The models an instance serves, with the look-ups routing needs."""

    def __init__(self, models: list[ModelSpec]) -> None:
        if not models:
            raise CatalogError("the catalog lists no models")
        self._by_id: dict[str, ModelSpec] = {}
        for spec in models:
            if spec.id in self._by_id:
                raise CatalogError(f"model id {spec.id!r} appears twice")
            self._by_id[spec.id] = spec
        # Best first within a tier: explicit priority, then the cheaper model.
        self._ordered = sorted(
            models, key=lambda m: (-m.priority, m.input_cost_per_1k + m.output_cost_per_1k, m.id)
        )

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._ordered)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, model_id: str) -> ModelSpec | None:
        return self._by_id.get(model_id)


def _spec(entry: _ModelEntry) -> ModelSpec:
    return ModelSpec(
        id=entry.id,
        name=entry.name or entry.id,
        family=entry.family,
        tier=entry.tier,
        provider=entry.provider,
        vendor=entry.vendor or ("emmaus" if entry.provider == "local" else entry.family),
        context_window=entry.context_window,
        max_output_tokens=entry.max_output_tokens or min(4096, entry.context_window // 2),
        input_cost_per_1k=entry.input_cost_per_1k,
        output_cost_per_1k=entry.output_cost_per_1k,
        capabilities=frozenset(entry.capabilities),
        priority=entry.priority,
        path=entry.path,
        base_url=entry.base_url.rstrip("/") if entry.base_url else None,
        api_key_env=entry.api_key_env,
        upstream_model=entry.upstream_model or entry.id,
        timeout=entry.timeout,
    )


def parse_catalog(text: str, origin: str = "<catalog>") -> Catalog:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{origin}: not valid TOML: {exc}") from exc
    entries = raw.get("models")
    if not isinstance(entries, list):
        raise CatalogError(f"{origin}: expected [[models]] tables")
    specs = []
    for index, item in enumerate(entries):
        try:
            specs.append(_spec(_ModelEntry.model_validate(item)))
        except ValueError as exc:
            raise CatalogError(f"{origin}: models[{index}]: {exc}") from exc
    return Catalog(specs)


def load_catalog(path: Path | None = None) -> Catalog:
    if path is None:
        text = resources.files("emmaus").joinpath("data/models.toml").read_text("utf-8")
        return parse_catalog(text, "built-in catalog")
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc}") from exc
    return parse_catalog(text, str(path))
