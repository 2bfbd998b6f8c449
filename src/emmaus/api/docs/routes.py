"""The API reference pages, offline: Swagger UI at `/docs` and ReDoc at `/redoc`, from the
distribution files the PyPI package `fastapi-offline` installs (`fastapi_offline/static`) and
two small start-up scripts of ours, all served under `/docs/assets/`. Nothing is fetched from
another host, no script is inline, and the pages carry a Content-Security-Policy that says so.
"Authorize" in Swagger UI runs the OAuth2 client-credentials flow the OpenAPI document declares
(`api/common/security_docs.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path
from fastapi.responses import Response

from emmaus.api.common.static_files import package_asset, send

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


def _send(name: str, accept_encoding: str | None, if_none_match: str | None) -> Response:
    return send(package_asset(ASSETS[name], name), SECURITY_HEADERS, accept_encoding, if_none_match)


AcceptEncoding = Annotated[str | None, Header()]
IfNoneMatch = Annotated[str | None, Header()]


@router.get("/docs")
async def swagger_ui(
    accept_encoding: AcceptEncoding = None, if_none_match: IfNoneMatch = None
) -> Response:
    return send(
        package_asset(_OURS, "swagger.html"), SECURITY_HEADERS, accept_encoding, if_none_match
    )


@router.get("/redoc")
async def redoc(
    accept_encoding: AcceptEncoding = None, if_none_match: IfNoneMatch = None
) -> Response:
    return send(
        package_asset(_OURS, "redoc.html"), SECURITY_HEADERS, accept_encoding, if_none_match
    )


@router.get("/docs/assets/{name}")
async def asset(
    name: Annotated[str, Path(max_length=64)],
    accept_encoding: AcceptEncoding = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    if name not in ASSETS:
        return Response(
            b'{"detail":"Not Found"}', 404, SECURITY_HEADERS, media_type="application/json"
        )
    return _send(name, accept_encoding, if_none_match)
