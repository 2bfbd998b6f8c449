"""Static files a package ships (Studio's page, the offline API reference): read once, gzipped
once (deterministically: no mtime), sent with an ETag so a reload costs a 304, and always with
the caller's security headers."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fastapi.responses import Response

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


@dataclass(frozen=True, slots=True)
class Asset:
    body: bytes
    gzipped: bytes | None  # None for formats that are compressed already (PNG)
    media_type: str
    etag: str


def media_type(name: str) -> str | None:
    """The media type of a file name we serve, or None for any other kind of file."""
    return MEDIA_TYPES.get(name[name.rfind(".") :]) if "." in name else None


@cache
def package_files(package: str) -> frozenset[str]:
    """The names in `static/` of `package` that we serve."""
    folder = resources.files(package).joinpath("static")
    return frozenset(e.name for e in folder.iterdir() if e.is_file() and media_type(e.name))


@cache
def package_asset(package: str, name: str) -> Asset:
    """`static/<name>` of `package`. Raises for a file it does not hold or a kind we don't
    serve."""
    kind = media_type(name)
    if kind is None:
        raise ValueError(f"not a static file type: {name}")
    body = resources.files(package).joinpath("static", name).read_bytes()
    packed = None if kind == "image/png" else gzip.compress(body, 9, mtime=0)
    return Asset(body, packed, kind, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def send(
    asset: Asset,
    security_headers: dict[str, str],
    accept_encoding: str | None,
    if_none_match: str | None,
) -> Response:
    headers = {
        **security_headers,
        "ETag": asset.etag,
        "Cache-Control": "no-cache",
        "Vary": "Accept-Encoding",
    }
    if if_none_match and asset.etag in if_none_match:
        return Response(status_code=304, headers=headers)
    if asset.gzipped is not None and "gzip" in (accept_encoding or ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
