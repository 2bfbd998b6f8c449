"""Model backends behind the `Provider` protocol, built for the kinds a catalog uses."""

from __future__ import annotations

from emmaus.catalog import Catalog
from emmaus.config import Settings
from emmaus.engine.providers.base import Provider


def build_providers(settings: Settings, catalog: Catalog) -> dict[str, Provider]:
    kinds = {spec.provider for spec in catalog}
    providers: dict[str, Provider] = {}
    if "local" in kinds:
        from emmaus.engine.providers.local.provider import LocalProvider

        providers["local"] = LocalProvider(settings)
    if "openai" in kinds:
        from emmaus.engine.providers.openai_compat.provider import OpenAIProvider

        providers["openai"] = OpenAIProvider(settings)
    return providers


__all__ = ["Provider", "build_providers"]
