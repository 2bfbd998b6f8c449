"""Says on every operation of the OpenAPI document what it needs. FastAPI writes the OAuth2
client-credentials scheme and each route's scopes from the `require_scope` dependencies
(`emmaus.auth.dependencies.CLIENT_CREDENTIALS`); this adds them where a handler checks a scope
itself (`/metrics`), marks the rest public, and says it in words in each description."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from emmaus.auth.clients import SCOPE_ADMIN

SCHEME = "oauth2"
TOKEN_URL = "/oauth2/token"
# Routes that check a scope inside the handler, not through a dependency.
DECLARED: dict[tuple[str, str], list[str]] = {("/metrics", "get"): [SCOPE_ADMIN]}


def _note(operation: dict[str, Any], text: str) -> None:
    description = operation.get("description")
    operation["description"] = f"{description}\n\n{text}" if description else text


def add_security(schema: dict[str, Any]) -> dict[str, Any]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            if (path, method) in DECLARED:
                operation["security"] = [{SCHEME: DECLARED[(path, method)]}]
            requirement = operation.get("security")
            if path == TOKEN_URL:
                operation["security"] = []
                _note(operation, "**Needs** a client id and secret (HTTP Basic or form fields).")
            elif not requirement:
                operation["security"] = []
                _note(operation, "**Public**: no token needed.")
            else:
                scopes = sorted({s for entry in requirement for s in entry.get(SCHEME, [])})
                what = ", ".join(f"`{s}`" for s in scopes) if scopes else "any scope"
                _note(operation, f"**Needs** a bearer token with {what}.")
    return schema


def document_security(app: FastAPI) -> None:
    """Make `app.openapi()` say what each route needs (after `document_errors`)."""
    build = app.openapi
    done: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if "schema" not in done:
            done["schema"] = add_security(build())
        return done["schema"]

    app.openapi = openapi  # type: ignore[method-assign]
