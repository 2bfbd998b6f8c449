"""Documents the error responses every route can give, so the OpenAPI document describes what
the routes really return (schemathesis checks it): auth and rate limits on `/ai/**`, bad and
oversized bodies, validation, unknown ids in paths. Routes keep their own, more specific
entries for the statuses that only their handler produces."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from emmaus.api.common.schemas import ErrorObject


class ErrorBody(BaseModel):
    """Any error body Emmaus sends. Model and domain errors: `{"error": {code, name, message,
    retryable}, "detail"}` (`detail` lists the problems of an invalid request); auth and rate
    limits: `{"error": "<text>", "code": "<snake_case>"}`; the token endpoint: OAuth2's
    `{"error", "error_description"}`; an unknown route: `{"detail"}`."""

    model_config = ConfigDict(extra="allow")

    error: ErrorObject | str | None = None
    code: str | None = None
    detail: Any = None
    error_description: str | None = None


BODY_ERRORS = {
    400: "Malformed JSON or form",
    413: "Request body too large",
    422: "Invalid request",
}
AUTH_ERRORS = {
    401: "Missing, invalid or expired bearer token",
    403: "The token lacks the scope this route needs",
    429: "Rate limit exceeded (see Retry-After and x-ratelimit-*)",
    503: "A dependency is unavailable (rate limiter, model); retry later",
}
TOKEN_ERRORS = {
    400: "Unsupported grant type or scope, or a malformed form",
    401: "Unknown client or wrong secret",
    413: "Request body too large",
    429: "Too many token requests",
}


_REF = "#/components/schemas/ErrorBody"


def _add(operation: dict[str, Any], errors: dict[int, str], *, override: bool = True) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    content = {"application/json": {"schema": {"$ref": _REF}}}
    for status, description in errors.items():
        present = responses.get(str(status))
        if present is None:
            responses[str(status)] = {"description": description, "content": content}
        elif override:  # the status can also carry another error shape: widen the schema
            present["content"] = content


# Before OpenAPI 3.2 the `schema` of an event stream describes one event (as parsed by SSE).
SSE = {
    "schema": {
        "type": "object",
        "description": "With `stream: true`: Server-Sent Events whose `data` is a JSON chunk; "
        "the last one is `[DONE]`",
        "required": ["data"],
        "properties": {
            "data": {"type": "string"},
            "event": {"type": "string"},
            "id": {"type": "string"},
            "retry": {"type": "integer"},
        },
    }
}


def _streams(operation: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether the request body has a `stream` switch (the answer may then be SSE)."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = components.get(ref.rsplit("/", 1)[1], {})
    return "stream" in schema.get("properties", {})


def add_error_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the shared error responses to every operation of an OpenAPI document, and the SSE
    answer to the operations that can stream."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(body.pop("$defs", {}))
    components["ErrorBody"] = body
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or method == "parameters":
                continue
            if path == "/oauth2/token":
                _add(operation, TOKEN_ERRORS)
                continue
            places = {p.get("in") for p in operation.get("parameters", [])}
            ok = operation.get("responses", {}).get("200")
            if ok is not None and _streams(operation, components):
                ok.setdefault("content", {})["text/event-stream"] = SSE
            if "requestBody" in operation:
                _add(operation, BODY_ERRORS)
            elif places & {"query", "path"}:
                _add(operation, {422: BODY_ERRORS[422]})
            if "path" in places:
                _add(operation, {404: "Not found"})
            if path.startswith("/ai/"):
                _add(operation, AUTH_ERRORS)
    return schema


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` list the error responses every route can give."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_error_responses(build())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
