"""Emmaus Studio: the web page at `/` and its static assets at `/studio/...` (hand-written HTML,
CSS and JavaScript modules in `static/`, no build step). Every answer carries a strict
Content-Security-Policy (scripts and styles from this server only, nothing inline, no framing)
and the usual security headers; assets are sent gzipped when the browser accepts it, with an
ETag so a reload costs a 304."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.responses import Response

from emmaus.api.common.static_files import package_asset, package_files, send

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


def _serve(name: str, accept_encoding: str | None, if_none_match: str | None) -> Response:
    if name not in package_files(__package__):
        return Response("not found", status_code=404, headers=SECURITY_HEADERS)
    return send(package_asset(__package__, name), SECURITY_HEADERS, accept_encoding, if_none_match)


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
