"""Emmaus Studio: the web page at `/` and its static assets at `/studio/...` (hand-written HTML,
CSS and JavaScript modules in `static/`, no build step). Every answer carries a strict
Content-Security-Policy (scripts and styles from this server only, nothing inline, no framing)
and the usual security headers; assets are sent gzipped when the browser accepts it, with an
ETag so a reload costs a 304."""

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

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
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
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


@cache
def assets() -> dict[str, Asset]:
    """Every file of `static/`, read once, with its gzip form (deterministic: no mtime)."""
    found: dict[str, Asset] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if not entry.is_file() or suffix not in _TYPES:
            continue
        body = entry.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        found[entry.name] = Asset(body, packed, _TYPES[suffix], etag)
    return found


def _serve(name: str, accept_encoding: str | None, if_none_match: str | None) -> Response:
    asset = assets().get(name)
    if asset is None:
        return Response("not found", status_code=404, headers=SECURITY_HEADERS)
    headers = {**SECURITY_HEADERS, "ETag": asset.etag, "Cache-Control": "no-cache"}
    headers["Vary"] = "Accept-Encoding"
    if if_none_match and asset.etag in if_none_match:
        return Response(status_code=304, headers=headers)
    if "gzip" in (accept_encoding or ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


AcceptEncoding = Annotated[str | None, Header()]
IfNoneMatch = Annotated[str | None, Header()]


@router.get("/")
async def studio_page(
    accept_encoding: AcceptEncoding = None, if_none_match: IfNoneMatch = None
) -> Response:
    return _serve("index.html", accept_encoding, if_none_match)


@router.get("/studio/{name}")
async def studio_asset(
    name: Annotated[str, Path(max_length=64, pattern=r"^[a-z0-9-]+\.[a-z]+$")],
    accept_encoding: AcceptEncoding = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    if name == "index.html":  # the page lives at `/` only
        return _serve("", accept_encoding, if_none_match)
    return _serve(name, accept_encoding, if_none_match)
