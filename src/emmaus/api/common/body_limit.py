"""A bound on request body size (413), checked on Content-Length and while the body streams in."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from emmaus.api.common.receive_guard import answer, guarded

_BODY: dict[str, object] = {"error": "Request body too large", "code": "request_too_large"}
_CLOSE = {"connection": "close"}


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
                    await answer(send, 413, _BODY, _CLOSE)
                    return
                break
        seen = 0

        def count(piece: bytes) -> None:
            nonlocal seen
            seen += len(piece)
            if seen > max_bytes:
                raise _TooLarge()

        await guarded(self.app, scope, receive, send, count, _TooLarge)


class _TooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, detail=_BODY, headers=_CLOSE)
