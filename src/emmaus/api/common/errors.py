"""Exception handlers: every failure leaves in one of the contract's error shapes (design.md:
auth/limits `{"error", "code"}`, validation FastAPI `{"detail": [...]}`, completions
`{"error": {"code", "name", "message"}}`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emmaus.errors import EmmausError, InvalidRequest, UnknownFields

log = logging.getLogger(__name__)


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    try:
        content = orjson.dumps(body)
    except TypeError:  # an integer past 64 bits echoed from an invalid request
        content = json.dumps(body, default=str).encode()
    return Response(content, status, headers, media_type="application/json")


def error_body(exc: EmmausError, param: str | None = None) -> dict[str, object]:
    """The enriched error object: Gloo's `code`, `name`, `message`, `retryable`, plus OpenAI's
    `type` and `param`, which the OpenAI SDK exposes as `e.type` and `e.param`."""
    return {**exc.to_dict(), "type": openai_type(exc.status), "param": param or exc.param}


def error_response(exc: EmmausError, detail: object = None, param: str | None = None) -> Response:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    # `detail` as well as `error`: Gloo's cookbook reads `detail`, the OpenAI SDK `error.message`.
    body = {"error": error_body(exc, param), "detail": exc.message if detail is None else detail}
    return json_response(body, exc.status, headers)


_OPENAI_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def openai_type(status: int) -> str:
    """OpenAI's error `type` for an HTTP status."""
    if status in _OPENAI_TYPES:
        return _OPENAI_TYPES[status]
    return "server_error" if status >= 500 or status == 408 else "invalid_request_error"


def field_path(loc: Sequence[object]) -> str:
    """`("body", "messages", 0, "content")` as OpenAI writes it: `messages[0].content`. The
    names pydantic gives union members (`list[TextPart]`, `function-after[...]`) are left out."""
    path = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path") else loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and not _union_member(part):
            path += f".{part}" if path else part
    return path


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "bytes", "none", "list", "dict"})


def _union_member(part: str) -> bool:
    # Field names are snake_case; union members are type names, model names or expressions.
    return part in _TYPE_NAMES or part[:1].isupper() or any(c in part for c in "[]( ,")


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors[:5]:
        loc = field_path(error.get("loc", ()))
        parts.append(f"{loc}: {error.get('msg')}" if loc else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


def _where(doc: object, position: object) -> str:
    """`line 3, column 14` of a character offset in the JSON text (as `json` counts them)."""
    if not isinstance(position, int):
        return "somewhere"
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else str(doc or "")
    line = text.count("\n", 0, position) + 1
    column = position - text.rfind("\n", 0, position)
    return f"line {line}, column {column} (character {position})"


def _malformed(exc: RequestValidationError, error: dict[str, Any]) -> InvalidRequest:
    loc = error.get("loc") or ()
    what = (error.get("ctx") or {}).get("error") or "not valid JSON"
    message = f"Malformed JSON at {_where(exc.body, loc[-1] if loc else None)}: {what}"
    error["msg"] = message
    failure = InvalidRequest(message)
    failure.status = 400
    return failure


# The v2 completions family (and its routing dry run) refuses unknown top-level fields with a
# 400 naming them, as OpenAI's API does.
COMPLETIONS_FAMILY = ("/ai/v2/chat/completions", "/ai/v2/route")


def _unknown_fields(errors: list[dict[str, Any]]) -> list[str]:
    return [
        str(e["loc"][1])
        for e in errors
        if e.get("type") == "extra_forbidden" and len(e.get("loc") or ()) == 2
    ]


# OpenAI's API answers 400 to any invalid request; its families here do the same (the SDK
# raises BadRequestError either way, but clients match on the status).
OPENAI_FAMILIES = ("/ai/v1/responses", "/ai/v1/conversations")


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    errors = jsonable_encoder(exc.errors(), custom_encoder={ValueError: str})
    for error in errors:
        error.pop("url", None)
        ctx = error.get("ctx")
        if isinstance(ctx, dict):
            error["ctx"] = {k: str(v) for k, v in ctx.items()}
    # Structurally invalid JSON is a 400 by the contract (§8.2); the rest is a 422.
    malformed = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if malformed is not None:
        return error_response(_malformed(exc, malformed), errors)
    unknown = _unknown_fields(errors)
    if unknown and request.url.path.startswith(COMPLETIONS_FAMILY):
        names = ", ".join(unknown)
        refusal = UnknownFields(f"Unrecognized request argument supplied: {names}")
        return error_response(refusal, errors, param=unknown[0])
    error = InvalidRequest(_summary(errors))
    if request.url.path.startswith(OPENAI_FAMILIES):
        error.status = 400
    param = field_path(errors[0].get("loc", ())) if errors else None
    return error_response(error, errors, param=param or None)


async def _emmaus(_: Request, exc: EmmausError) -> Response:
    if exc.status >= 500:
        log.warning("%s: %s", exc.name, exc.message)
    return error_response(exc)


async def _http(_: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    body = exc.detail if isinstance(exc.detail, dict) else {"detail": exc.detail}
    return json_response(body, exc.status_code, headers)


class UnhandledErrors:
    """The last line of defence: an exception no handler took becomes a 500 in the enriched
    error shape, logged once, and the connection stays usable (uvicorn would close it, and the
    caller's next request on it would be reset)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = {"started": False, "ended": False}

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                state["ended"] = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not state["started"]:
                response = error_response(EmmausError("internal error"))
                await response(scope, receive, send)
            elif not state["ended"]:
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(EmmausError, _emmaus)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http)  # type: ignore[arg-type]
