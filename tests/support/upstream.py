"""Helpers for tests that call the scripted upstream (`emmaus.testing`) through a provider."""

from __future__ import annotations

import uuid

from emmaus.catalog import ModelSpec


def unique(script: str) -> str:
    """A scripted model name of its own, so per-model counters are this test's alone."""
    return f"{script}+tag-{uuid.uuid4().hex[:10]}"


def openai_spec(base_url: str, upstream_model: str, **overrides: object) -> ModelSpec:
    """A catalog entry for `upstream_model` served by an OpenAI-compatible `base_url`."""
    fields: dict[str, object] = {
        "id": f"test-{upstream_model}",
        "name": upstream_model,
        "family": "open source",
        "tier": 1,
        "provider": "openai",
        "vendor": "scripted",
        "context_window": 8192,
        "max_output_tokens": 1024,
        "input_cost_per_1k": 0.0,
        "output_cost_per_1k": 0.0,
        "capabilities": frozenset({"tools", "streaming", "json"}),
        "base_url": base_url,
        "upstream_model": upstream_model,
    }
    fields.update(overrides)
    return ModelSpec(**fields)  # type: ignore[arg-type]
