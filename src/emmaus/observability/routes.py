"""The route template of a request (`/ai/v2/models/{model_id:path}`), the label metrics and the
usage ledger use: bounded, unlike the path itself.

FastAPI 0.165+ keeps included routers nested and puts the router's own route in
`scope["route"]`, whose `path` lacks the include prefix (`/chat/completions`); the full
template comes from `fastapi.routing.iter_route_contexts`. Older versions copy each route with
its full path, which `scope["route"].path` already is. A request refused before routing (a
413 from the body limit) is matched against the templates here."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, compile_path

UNMATCHED = "unmatched"  # every unknown path shares one label


class RouteTemplates:
    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._routes = routes  # the app's live list: read once routes are all added
        self._by_route: dict[int, list[tuple[str, re.Pattern[str]]]] | None = None
        self._all: list[tuple[str, re.Pattern[str]]] = []

    def _build(self) -> dict[int, list[tuple[str, re.Pattern[str]]]]:
        table: dict[int, list[tuple[str, re.Pattern[str]]]] = {}
        try:
            from fastapi.routing import iter_route_contexts  # type: ignore[attr-defined]
        except ImportError:  # older FastAPI: routes carry their full paths
            contexts: list[tuple[Any, str | None]] = [
                (r, getattr(r, "path", None)) for r in self._routes
            ]
        else:
            contexts = [(c.original_route, c.path) for c in iter_route_contexts(self._routes)]
        for route, path in contexts:
            if not isinstance(path, str):
                continue
            entry = (path, compile_path(path)[0])
            table.setdefault(id(route), []).append(entry)
            self._all.append(entry)
        self._by_route = table
        return table

    def of(self, scope: dict[str, Any]) -> str:
        table = self._by_route if self._by_route is not None else self._build()
        route = scope.get("route")
        path = scope.get("path", "")
        if route is not None:
            candidates = table.get(id(route))
            if not candidates:
                own = getattr(route, "path", None)
                return own if isinstance(own, str) else UNMATCHED
            if len(candidates) == 1:
                return candidates[0][0]
            return _first_match(candidates, path) or candidates[0][0]
        return _first_match(self._all, path) or UNMATCHED


def _first_match(entries: list[tuple[str, re.Pattern[str]]], path: str) -> str | None:
    for template, pattern in entries:
        if pattern.match(path):
            return template
    return None
