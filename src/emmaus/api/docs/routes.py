"""The API reference pages, offline: Swagger UI at `/docs` and ReDoc at `/redoc`, from the
distribution files the PyPI package `fastapi-offline` installs (`fastapi_offline/static`) and
two small start-up scripts of ours, all served under `/docs/assets/`. Nothing is fetched from
another host, no script is inline, and the pages carry a Content-Security-Policy that says so.
"Authorize" in Swagger UI runs the OAuth2 client-credentials flow the OpenAPI document declares
(`api/common/security_docs.py`)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)

# Swagger UI and ReDoc set inline `style` attributes, and ReDoc runs its search in a blob:
# worker; scripts, connections and images stay on this server.
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
_VENDOR = "fastapi_offline"  # the package whose static/ folder holds Swagger UI and ReDoc
_OURS = "emmaus.api.docs"
ASSETS = {
    "swagger-ui-bundle.js": _VENDOR,
    "swagger-ui.css": _VENDOR,
    "redoc.standalone.js": _VENDOR,
    "favicon.png": _VENDOR,
    "swagger-init.js": _OURS,
    "redoc-init.js": _OURS,
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None
    media_type: str
    etag: str


@cache
def _asset(package: str, name: str) -> Asset:
    body = resources.files(package).joinpath("static", name).read_bytes()
    media_type = _TYPES[name[name.rindex(".") :]]
    packed = gzip.compress(body, 6, mtime=0) if not media_type.startswith("image/") else None
    return Asset(body, packed, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _send(asset: Asset, accept_encoding: str | None, if_none_match: str | None) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    if if_none_match == asset.etag:
        return Response(status_code=304, headers=headers)
    headers["Vary"] = "Accept-Encoding"
    if asset.gzipped is not None and "gzip" in (accept_encoding or ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


AcceptEncoding = Annotated[str | None, Header()]
IfNoneMatch = Annotated[str | None, Header()]


@router.get("/docs")
async def swagger_ui(
    accept_encoding: AcceptEncoding = None, if_none_match: IfNoneMatch = None
) -> Response:
    return _send(_asset(_OURS, "swagger.html"), accept_encoding, if_none_match)


@router.get("/redoc")
async def redoc(
    accept_encoding: AcceptEncoding = None, if_none_match: IfNoneMatch = None
) -> Response:
    return _send(_asset(_OURS, "redoc.html"), accept_encoding, if_none_match)


@router.get("/docs/assets/{name}")
async def asset(
    name: Annotated[str, Path(max_length=64)],
    accept_encoding: AcceptEncoding = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    package = ASSETS.get(name)
    if package is None:
        return Response(
            b'{"detail":"Not Found"}', 404, SECURITY_HEADERS, media_type="application/json"
        )
    return _send(_asset(package, name), accept_encoding, if_none_match)
