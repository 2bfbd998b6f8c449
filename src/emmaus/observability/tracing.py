"""OpenTelemetry spans when the SDK is installed and configured, and nothing when it is not.

Configured means `EMMAUS_OTEL=1`, or an OTLP endpoint in the standard variables
(`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); `EMMAUS_OTEL=0` or
`OTEL_SDK_DISABLED=true` turn it off. Then `configure()` (called once per process by the
request middleware) uses the tracer provider the host set, or sets one that exports over OTLP
(`pip install 'emmaus[otel]'`). Otherwise nothing of OpenTelemetry is imported, and every call
below returns a shared object whose methods do nothing.

Spans: one SERVER span per HTTP request (`POST /ai/v2/chat/completions`, with the route
template, status and request id; an incoming `traceparent` is continued), and inside it
`emmaus.routing` (the router's decision), `chat <model>` (a model call, all its attempts, with
tokens in and out) and `emmaus.store` (each database transaction)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

log = logging.getLogger(__name__)

_ON = frozenset({"1", "true", "yes", "on"})
_OFF = frozenset({"0", "false", "no", "off"})
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")

_tracer: Any = None  # an opentelemetry Tracer once configured
_otel: Any = None  # the opentelemetry modules used on the hot path, imported once


class _Nothing:
    """What every call returns while tracing is off: a span that records nothing."""

    __slots__ = ()

    def __enter__(self) -> _Nothing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def set_attribute(self, key: str, value: object) -> None:
        return None

    def set_attributes(self, attributes: Mapping[str, object]) -> None:
        return None

    def add_event(self, name: str, attributes: Mapping[str, object] | None = None) -> None:
        return None

    def end(self) -> None:
        return None


NOTHING = _Nothing()


def wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether the environment asks for spans."""
    if environ.get("OTEL_SDK_DISABLED", "").lower() in _ON:
        return False
    flag = environ.get("EMMAUS_OTEL", "").lower()
    if flag in _OFF:
        return False
    return flag in _ON or any(environ.get(name) for name in _ENDPOINTS)


def enabled() -> bool:
    return _tracer is not None


def configure(environ: Mapping[str, str] = os.environ) -> bool:
    """Set the process' tracer up when the environment asks for spans and the SDK is
    installed (idempotent); turn spans off when it does not ask. Returns whether they are on."""
    global _tracer, _otel
    if not wanted(environ):
        _tracer = None
        return False
    if _tracer is not None:
        return True
    try:
        from opentelemetry import context, propagate, trace
        from opentelemetry.sdk.trace import TracerProvider
    except ImportError:
        log.warning("tracing asked for, but opentelemetry-sdk is not installed: no spans")
        return False
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the host set none: ours, exporting OTLP
        provider = _otlp_provider(environ)
        trace.set_tracer_provider(provider)
    from emmaus import __version__

    _otel = (context, propagate, trace)
    _tracer = trace.get_tracer("emmaus", __version__)
    return True


def _otlp_provider(environ: Mapping[str, str]) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": "emmaus"}
    provider = TracerProvider(resource=Resource.create(name))
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        log.warning("no OTLP exporter installed (pip install 'emmaus[otel]'): spans are not sent")
        return provider
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


def span(name: str, attributes: Mapping[str, Any] | None = None) -> Any:
    """A span that is the current one for the `with` block it opens."""
    if _tracer is None:
        return NOTHING
    return _tracer.start_as_current_span(name, attributes=attributes)


def start(name: str, attributes: Mapping[str, Any] | None = None) -> Any:
    """A span under the current one that the caller ends (`.end()`), for work whose end is
    seen elsewhere (a stream)."""
    if _tracer is None:
        return NOTHING
    return _tracer.start_span(name, attributes=attributes)


def failed(span: Any, description: str) -> None:
    """Mark `span` as failed (OpenTelemetry's ERROR status)."""
    if _otel is not None and span is not NOTHING:
        trace = _otel[2]
        span.set_status(trace.Status(trace.StatusCode.ERROR, description))


def open_request(method: str, headers: list[tuple[bytes, bytes]]) -> Any:
    """A SERVER span for one HTTP request, current until `close_request`; None when off."""
    if _tracer is None:
        return None
    context, propagate, trace = _otel
    carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
    parent = propagate.extract(carrier)
    request = _tracer.start_span(
        f"HTTP {method}",
        context=parent,
        kind=trace.SpanKind.SERVER,
        attributes={"http.request.method": method},
    )
    token = context.attach(trace.set_span_in_context(request, parent))
    return request, token


def close_request(opened: Any, method: str, route: str, status: int, request_id: str) -> None:
    request, token = opened
    context, _, trace = _otel
    request.update_name(f"{method} {route}")
    request.set_attributes(
        {
            "http.route": route,
            "http.response.status_code": status,
            "emmaus.request_id": request_id,
        }
    )
    if status >= 500:
        request.set_status(trace.Status(trace.StatusCode.ERROR))
    request.end()
    context.detach(token)
