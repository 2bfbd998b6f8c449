"""A bound on request body size (413), checked on Content-Length and while the body streams in.
The 413 has its route family's error shape: OAuth2's on the token endpoint, the enriched error
object everywhere else."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from emmaus.api.common.errors import error_body
from emmaus.api.common.receive_guard import answer, guarded
from emmaus.errors import RequestTooLarge

_CLOSE = {"connection": "close"}
TOKEN_PATH = "/oauth2/token"


def too_large(path: str, max_bytes: int) -> dict[str, object]:
    """The 413 body for a request to `path`."""
    message = f"Request body too large: at most {max_bytes:,} bytes"
    if path == TOKEN_PATH:
        return {"error": "invalid_request", "error_description": message}
    return {"error": error_body(RequestTooLarge(message)), "detail": message}


class BodySizeLimit:
    """`max_bytes` for every request; `larger` raises it under some path prefixes (uploads)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple((larger or {}).items())

    def _limit(self, path: str) -> int:
        for prefix, limit in self.larger:
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > max_bytes:
                    await answer(send, 413, too_large(scope["path"], max_bytes), _CLOSE)
                    return
                break
        seen = 0

        def count(piece: bytes) -> None:
            nonlocal seen
            seen += len(piece)
            if seen > max_bytes:
                raise _TooLarge(too_large(scope["path"], max_bytes))

        await guarded(self.app, scope, receive, send, count, _TooLarge)


class _TooLarge(HTTPException):
    def __init__(self, body: dict[str, object]) -> None:
        super().__init__(413, detail=body, headers=_CLOSE)
