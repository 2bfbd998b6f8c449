"""Refuses JSON bodies whose strings hold a NUL character or an unpaired UTF-16 surrogate
(`"\\u0000"`, `"a\\ud800"`), as a 422 in the enriched error shape, before any route runs.

Neither can be stored (PostgreSQL text has no NUL; UTF-8 has no lone surrogates) nor sent on to
a model, so accepting them only moves the failure somewhere worse (a 500, half-written work).
The check reads the raw bytes as they arrive: an escape counts only when the backslash before
it is not itself escaped (`"\\\\u0000"` is the six characters `\\u0000`, and is fine)."""

from __future__ import annotations

import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from emmaus.api.common.errors import error_body
from emmaus.api.common.receive_guard import guarded
from emmaus.errors import InvalidRequest

_ESCAPED = rb"(?<!\\)(?:\\\\)*\\u"  # an escape whose backslash is not escaped itself
_HIGH = rb"[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"[dD][c-fC-F][0-9a-fA-F]{2}"
_FORBIDDEN = re.compile(
    _ESCAPED + rb"0000"
    + rb"|" + _ESCAPED + _HIGH + rb"(?!\\u" + _LOW + rb")"
    + rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})" + _ESCAPED + _LOW
)  # fmt: skip
_TAIL = 24  # bytes kept from the previous chunk, for an escape cut in two
MESSAGE = "text must not contain NUL characters or unpaired surrogates"


def forbidden_text(body: bytes) -> bool:
    return _FORBIDDEN.search(body) is not None or b"\x00" in body


class TextGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        tail = b""

        def check(piece: bytes) -> None:
            nonlocal tail
            if forbidden_text(tail + piece):
                raise _BadText()
            tail = (tail + piece)[-_TAIL:]

        await guarded(self.app, scope, receive, send, check, _BadText)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return b"json" in value.lower()
    return False


_BODY = {"error": error_body(InvalidRequest(MESSAGE)), "detail": MESSAGE}


class _BadText(HTTPException):
    def __init__(self) -> None:
        super().__init__(422, detail=_BODY)
