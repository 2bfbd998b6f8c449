"""Test and benchmark helpers that ship with Emmaus: a scripted OpenAI-compatible upstream.

Names are imported lazily so `python -m emmaus.testing.scripted_upstream` runs cleanly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emmaus.testing.scripted_upstream import ScriptedUpstream
    from emmaus.testing.scripts import parse_script
    from emmaus.testing.upstream_runner import (
        UpstreamHandle,
        serve_upstream,
        serve_upstream_process,
    )

_HOMES = {
    "ScriptedUpstream": "emmaus.testing.scripted_upstream",
    "parse_script": "emmaus.testing.scripts",
    "UpstreamHandle": "emmaus.testing.upstream_runner",
    "serve_upstream": "emmaus.testing.upstream_runner",
    "serve_upstream_process": "emmaus.testing.upstream_runner",
}
__all__ = [
    "ScriptedUpstream",
    "UpstreamHandle",
    "parse_script",
    "serve_upstream",
    "serve_upstream_process",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'emmaus.testing' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
