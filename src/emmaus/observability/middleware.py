"""The outermost ASGI middleware: a request id on every response (errors, 413s, 429s and streams
included) and in every log line of the request, and the request-level metrics (count, duration,
the gateway's overhead, requests and streams in flight), measured once here for every route;
and, when OpenTelemetry is configured, the request's SERVER span (`tracing`)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emmaus.observability import metrics, tracing
from emmaus.observability.request_ids import (
    HEADER,
    RequestContext,
    accept_or_generate,
    enter,
    leave,
)
from emmaus.observability.routes import RouteTemplates

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_EVENT_STREAM = b"text/event-stream"


class Observability:
    """`routes`: the app's routes, to name the template of a request refused before routing
    (a 413 from the body limit); `record`: whether to record metrics at all."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute] = (), record: bool = True) -> None:
        self.app = app
        self.templates = RouteTemplates(routes).of
        self.record = record
        tracing.configure()  # spans when OpenTelemetry is installed and asked for; else none

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = None
        for name, value in scope["headers"]:
            if name == HEADER:
                raw = value
                break
        context = RequestContext(accept_or_generate(raw), scope, self.templates)
        header = (HEADER, context.request_id.encode())
        record = self.record
        status = 500  # what the caller saw when the app ended without answering
        streaming = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                headers.append(header)
                message["headers"] = headers
                if record and _is_stream(headers):
                    streaming = True
                    metrics.STREAMS_IN_FLIGHT.inc()
            elif streaming and not message.get("more_body", False):
                streaming = False
                metrics.STREAMS_IN_FLIGHT.dec()
            await send(message)

        token = enter(context)
        traced = tracing.open_request(scope["method"], scope["headers"])
        if record:
            metrics.REQUESTS_IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if traced is not None:
                tracing.close_request(
                    traced, scope["method"], context.route, status, context.request_id
                )
            leave(token)
            if record:
                if streaming:  # the caller left mid-stream
                    metrics.STREAMS_IN_FLIGHT.dec()
                metrics.REQUESTS_IN_FLIGHT.dec()
                self._observe(context, scope, status)

    def _observe(self, context: RequestContext, scope: Scope, status: int) -> None:
        elapsed = time.perf_counter() - context.started
        route = context.route
        method = scope["method"] if scope["method"] in _METHODS else "other"
        metrics.child(metrics.REQUESTS, route, method, str(status)).inc()
        metrics.child(metrics.REQUEST_SECONDS, route, method).observe(elapsed)
        if context.model_calls:
            overhead = max(0.0, elapsed - context.upstream)
            metrics.child(metrics.OVERHEAD_SECONDS, route).observe(overhead)


def _is_stream(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-type":
            return value.startswith(_EVENT_STREAM)
    return False
