"""How uvicorn serves the app (`emmaus serve`, and the tests' live servers): forwarded headers
only from configured proxies, a bound on connections, and read deadlines for slow clients.

uvicorn has no deadline for a request's head or body: a client that opens a connection and
sends nothing, or sends less body than its Content-Length, holds the connection forever. The
protocol below is uvicorn's own httptools protocol with two timers added: one from the first
byte of a request (or the connection's start) until its head is complete, one between pieces of
its body. When one fires the client gets a 408 (if nothing was answered yet) and the
connection is closed, which ends the request's work as a hang-up does."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from emmaus.config import Settings, get_settings

_TIMEOUT_BODY = b'{"error": "the request was not received in time", "code": "request_timeout"}'
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n\r\n" + _TIMEOUT_BODY
)


class DeadlineProtocol(HttpToolsProtocol):
    # None: from the environment's settings (EMMAUS_HEADER_TIMEOUT, EMMAUS_BODY_TIMEOUT). The
    # class itself is what `emmaus serve` passes, so worker processes can import it by name.
    head_timeout: float | None = None
    body_timeout: float | None = None
    _timer: asyncio.TimerHandle | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.head_timeout is None or self.body_timeout is None:
            settings = get_settings()
            self.head_timeout = settings.header_timeout
            self.body_timeout = settings.body_timeout

    def _arm(self, seconds: float | None) -> None:
        self._disarm()
        if seconds:
            self._timer = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._timer is None:
            self._arm(self.head_timeout)

    def on_headers_complete(self) -> None:
        # Until the message completes, its body must keep arriving.
        self._arm(self.body_timeout)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        self._arm(self.body_timeout)
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def deadline_protocol(settings: Settings) -> type[DeadlineProtocol]:
    """The protocol for `settings`: the importable class when they are the environment's (as
    for `emmaus serve`, whose workers import it), else a subclass with their timeouts (tests
    that serve several apps in one process)."""
    env = get_settings()
    if (settings.header_timeout, settings.body_timeout) == (env.header_timeout, env.body_timeout):
        return DeadlineProtocol
    return type(
        "DeadlineProtocolWith",
        (DeadlineProtocol,),
        {"head_timeout": settings.header_timeout, "body_timeout": settings.body_timeout},
    )


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn settings beyond host and port, from Emmaus' settings."""
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    options: dict[str, Any] = {
        # X-Forwarded-For only from the configured proxies: uvicorn would otherwise believe
        # 127.0.0.1, and a client there could claim any address it likes.
        "proxy_headers": bool(proxies),
        "http": deadline_protocol(settings),
        "limit_concurrency": settings.max_connections or None,
        "timeout_keep_alive": settings.keep_alive_timeout,
        # On SIGTERM uvicorn stops accepting at once and waits for running requests; past this
        # it cancels them, and the lifespan's shutdown settles what they leave (v1 replies).
        "timeout_graceful_shutdown": settings.shutdown_timeout,
    }
    if proxies:
        options["forwarded_allow_ips"] = proxies
    return options
