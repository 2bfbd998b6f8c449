"""Request ids and the per-request context every log line and metric of a request reads.

The ASGI middleware (`observability.middleware`) opens a `RequestContext` for each HTTP request
and keeps it in a contextvar; tasks the request spawns (v1 turns, suggestions, titles) copy the
context, so they see the same object. Outside a request (the CLI, start-up) there is none.

A caller's `x-request-id` is kept when it is short and made of safe characters; anything else
(too long, spaces, control or non-ASCII bytes) is replaced by a fresh id rather than trimmed,
so a log line never carries what the caller smuggled into it."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

HEADER = b"x-request-id"
MAX_LENGTH = 128
_SAFE = re.compile(rb"[A-Za-z0-9._:/+=@-]{1,%d}" % MAX_LENGTH)


def accept_or_generate(raw: bytes | None) -> str:
    """The caller's id when it is acceptable, else a new one (32 hex characters)."""
    if raw is not None and _SAFE.fullmatch(raw):
        return raw.decode("ascii")
    return uuid.uuid4().hex


class RequestContext:
    """One request: its id, when it started, and how long it waited on model upstreams.

    Upstream time is the union of the intervals during which at least one provider call of
    this request was awaited, so concurrent calls (a v1 turn's answer beside its suggestions)
    are not counted twice and `elapsed - upstream` is the gateway's own time."""

    __slots__ = (
        "_active",
        "_route",
        "_since",
        "model_calls",
        "request_id",
        "scope",
        "started",
        "templates",
        "upstream",
    )

    def __init__(
        self,
        request_id: str,
        scope: dict[str, Any] | None = None,
        templates: Callable[[dict[str, Any]], str] | None = None,
    ) -> None:
        self.request_id = request_id
        self.scope = scope  # the ASGI scope: the matched route and the caller, filled in later
        self.templates = templates  # scope -> route template
        self._route: str | None = None
        self.started = time.perf_counter()
        self.upstream = 0.0
        self.model_calls = 0
        self._active = 0
        self._since = 0.0

    def upstream_enter(self) -> None:
        if self._active == 0:
            self._since = time.perf_counter()
        self._active += 1

    def upstream_leave(self) -> None:
        self._active -= 1
        if self._active == 0:
            self.upstream += time.perf_counter() - self._since

    @property
    def client_id(self) -> str | None:
        """The authenticated client, once the auth dependency has admitted the request."""
        if self.scope is None:
            return None
        auth = self.scope.get("state", {}).get("auth")
        return getattr(auth, "client_id", None)

    @property
    def route(self) -> str:
        """The route template (`/ai/v1/chat`), or `unmatched` for a path no route serves."""
        if self._route is not None:
            return self._route
        if self.scope is None or self.templates is None:
            return "unmatched"
        route = self.templates(self.scope)
        if "route" in self.scope:  # final once routing ran
            self._route = route
        return route


_current: ContextVar[RequestContext | None] = ContextVar("emmaus_request", default=None)


def current() -> RequestContext | None:
    return _current.get()


def current_request_id() -> str | None:
    context = _current.get()
    return context.request_id if context is not None else None


def enter(context: RequestContext) -> object:
    """Make `context` the current one; returns the token `leave` needs."""
    return _current.set(context)


def leave(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
