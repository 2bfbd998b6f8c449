"""Exception handlers: every failure leaves in one of the contract's error shapes (design.md:
auth/limits `{"error", "code"}`, validation FastAPI `{"detail": [...]}`, completions
`{"error": {"code", "name", "message"}}`)."""

from __future__ import annotations

import json
import logging

import orjson
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emmaus.errors import EmmausError, InvalidRequest

log = logging.getLogger(__name__)


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    try:
        content = orjson.dumps(body)
    except TypeError:  # an integer past 64 bits echoed from an invalid request
        content = json.dumps(body, default=str).encode()
    return Response(content, status, headers, media_type="application/json")


def error_response(exc: EmmausError, detail: object = None) -> Response:
    headers = {}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    # `detail` as well as `error`: Gloo's cookbook reads `detail`, the OpenAI SDK `error.message`.
    body = {"error": exc.to_dict(), "detail": exc.message if detail is None else detail}
    return json_response(body, exc.status, headers)


def _summary(errors: list[dict[str, object]]) -> str:
    parts = []
    for error in errors[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p != "body")  # type: ignore[union-attr]
        parts.append(f"{loc}: {error.get('msg')}" if loc else str(error.get("msg")))
    return "; ".join(parts) or "invalid request"


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
    malformed = any(e.get("type") == "json_invalid" for e in errors)
    error = InvalidRequest(_summary(errors))
    if malformed or request.url.path.startswith(OPENAI_FAMILIES):
        error.status = 400
    return error_response(error, errors)


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
