"""Token counts stored with each message at write time: the routed model's own tokenizer for
local models, the provider's calibrated estimate for remote ones."""

from __future__ import annotations

from collections.abc import Mapping

from emmaus.catalog import Catalog, ModelSpec
from emmaus.engine.providers.base import Provider


class TokenCounter:
    def __init__(self, providers: Mapping[str, Provider], catalog: Catalog) -> None:
        self.providers = providers
        # A user turn is counted before routing picks a model: count it with the model whose
        # window is the tightest, the one a context is most likely to overflow.
        self.reference: ModelSpec = min(catalog, key=lambda m: m.context_window)

    def count(self, text: str | None, model: ModelSpec | None = None) -> int:
        if not text:
            return 0
        spec = model or self.reference
        provider = self.providers.get(spec.provider)
        if provider is None:
            return max(1, len(text) // 4)
        return provider.count_tokens(spec, text)
