"""The HTTP side of one OpenAI-compatible upstream: an aiohttp session per base_url.

One `TCPConnector` of `upstream_max_connections` is enough: aiohttp keeps idle connections in a
per-host deque and takes the most recently used one, so its cost per call does not grow with the
pool (measured at 64 calls in flight: about the same client CPU per call as at 8), unlike
httpcore's pool, which the httpx version had to split into small shards.
"""

from __future__ import annotations

import os
import ssl
from functools import cache
from typing import TYPE_CHECKING

import aiohttp
import certifi
import orjson
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

if TYPE_CHECKING:
    from emmaus.config import Settings

KEEPALIVE = 30.0  # seconds an idle connection is kept
DNS_TTL = 60  # seconds a resolved upstream address is reused (a redeployed host moves soon enough)


@cache
def ssl_context() -> ssl.SSLContext:
    """Built once per process (loading a CA bundle costs milliseconds): certifi's bundle, as
    httpx used, unless SSL_CERT_FILE / SSL_CERT_DIR name another one."""
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def client_timeout(settings: Settings, read: float | None = None) -> aiohttp.ClientTimeout:
    """No total (a stream may last minutes): a connect bound and a bound between bytes. `connect`
    also bounds the wait for a free pooled connection, as httpx's pool timeout did."""
    read = read or settings.upstream_timeout
    return aiohttp.ClientTimeout(
        total=None,
        connect=max(read, settings.upstream_connect_timeout),
        sock_connect=settings.upstream_connect_timeout,
        sock_read=read,
    )


class Upstream:
    """The session to one base_url, its chat-completions URL and its request headers."""

    __slots__ = ("_headers", "session", "url")

    def __init__(self, base_url: str, settings: Settings) -> None:
        # Must run inside the event loop the session will serve.
        connector = aiohttp.TCPConnector(
            limit=settings.upstream_max_connections,
            keepalive_timeout=KEEPALIVE,
            ttl_dns_cache=DNS_TTL,
            ssl=ssl_context(),
        )
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=client_timeout(settings),
            json_serialize=_json,
            raise_for_status=False,
            auto_decompress=True,  # upstreams rarely compress, but a remote one may gzip JSON
            cookie_jar=aiohttp.DummyCookieJar(),  # an upstream's cookies mean nothing here
        )
        self.url = URL(f"{base_url}/chat/completions")  # parsed once, not per request
        self._headers: dict[str | None, CIMultiDictProxy[str]] = {}

    def headers(self, api_key: str | None) -> CIMultiDictProxy[str]:
        """The request headers for `api_key`, built on first use (aiohttp copies, never mutates)."""
        headers = self._headers.get(api_key)
        if headers is None:
            built = CIMultiDict({"content-type": "application/json", "user-agent": "emmaus"})
            if api_key:
                built["authorization"] = f"Bearer {api_key}"
            headers = self._headers[api_key] = CIMultiDictProxy(built)
        return headers

    async def aclose(self) -> None:
        await self.session.close()
