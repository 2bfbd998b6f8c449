"""OpenTelemetry spans on a live app, recorded by the SDK's in-memory exporter: one SERVER span
per request (named by method and route template, with status and request id; a caller's
`traceparent` continued), and under it the routing decision, the model call (tokens, status)
and the store's transactions. Without configuration nothing of OpenTelemetry is imported and
no tracer is set up (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.observability import tracing
from emmaus.testing import UpstreamHandle, serve_upstream
from tests.observability.conftest import CATALOG, ask
from tests.observability.serving import emmaus_serve
from tests.support.auth import create_client, fetch_token
from tests.support.live_server import live_server

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """The process' tracer provider (set here unless another test did) feeding a fresh
    in-memory exporter; spans on while the module runs, off after."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMMAUS_OTEL", "1")  # what the app's middleware reads when it starts
        assert tracing.configure()
        try:
            yield exporter
        finally:
            exporter.shutdown()  # its processor drops what comes later
    tracing.configure()
    assert not tracing.enabled()


@pytest.fixture(scope="module")
def served(
    exporter: InMemorySpanExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    with serve_upstream(tokens=6, token_size=4) as upstream:
        yield from _serve(upstream, tmp_path_factory.mktemp("traced"))


def _serve(upstream: UpstreamHandle, data: Path) -> Iterator[tuple[str, dict[str, str]]]:
    catalog = data / "models.toml"
    catalog.write_text(CATALOG.format(base=upstream.base_url))
    settings = Settings(data_dir=data, models=catalog, upstream_retries=0)
    with live_server(create_app(settings)) as url:
        client = create_client(settings)
        yield url, {"Authorization": f"Bearer {fetch_token(url, *client)}"}


def spans_of(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def request_span(exporter: InMemorySpanExporter, request_id: str) -> ReadableSpan:
    """The request's span, once it has ended (just after the response's last byte)."""
    deadline = time.monotonic() + 5
    while True:
        found = [
            s
            for s in exporter.get_finished_spans()
            if s.kind == SpanKind.SERVER and s.attributes.get("emmaus.request_id") == request_id
        ]
        if found or time.monotonic() > deadline:
            (span,) = found
            return span
        time.sleep(0.01)


def children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def test_a_completion_has_route_routing_and_model_call_spans(
    served: tuple[str, dict[str, str]], exporter: InMemorySpanExporter
) -> None:
    url, headers = served
    answer = httpx.post(f"{url}/ai/v2/chat/completions", json=ask("priced"), headers=headers)
    assert answer.status_code == 200
    root = request_span(exporter, answer.headers["x-request-id"])
    assert root.name == "POST /ai/v2/chat/completions"
    assert root.attributes["http.route"] == "/ai/v2/chat/completions"
    assert root.attributes["http.response.status_code"] == 200
    assert root.parent is None
    spans = spans_of(exporter, root.context.trace_id)
    under = {s.name: s for s in children(spans, root)}
    routing = under["emmaus.routing"]
    assert routing.attributes["emmaus.routing.mechanism"] == "direct_model_selection"
    assert routing.attributes["emmaus.routing.model"] == "priced"
    call = under["chat priced"]
    usage = answer.json()["usage"]
    assert call.attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert call.attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert call.attributes["emmaus.status"] == "ok"
    assert call.attributes["gen_ai.request.model"] == "fixed+tokens-6+tag-ops"
    assert routing.end_time <= call.start_time  # routed, then called
    assert root.start_time <= routing.start_time and call.end_time <= root.end_time


def test_a_fallback_is_an_event_of_the_call(
    served: tuple[str, dict[str, str]], exporter: InMemorySpanExporter
) -> None:
    url, headers = served
    body = {**ask("ignored"), "model": "", "model_family": "google"}
    answer = httpx.post(f"{url}/ai/v2/chat/completions", json=body, headers=headers)
    assert answer.status_code == 200
    root = request_span(exporter, answer.headers["x-request-id"])
    (call,) = [
        s
        for s in children(spans_of(exporter, root.context.trace_id), root)
        if s.name.startswith("chat ")
    ]
    assert call.attributes["emmaus.served_model"] == "google-ok"
    events = [(e.name, e.attributes["emmaus.model"]) for e in call.events]
    assert events == [("attempt failed", "google-broken"), ("fallback", "google-broken")]


def test_a_v1_turn_has_store_spans_under_its_request_and_continues_a_trace(
    served: tuple[str, dict[str, str]], exporter: InMemorySpanExporter
) -> None:
    url, headers = served
    parent = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    answer = httpx.post(
        f"{url}/ai/v1/message",
        json={"query": "What is grace?", "enable_suggestions": 0},
        headers={**headers, "traceparent": parent},
    )
    assert answer.status_code == 200
    root = request_span(exporter, answer.headers["x-request-id"])
    assert root.name == "POST /ai/v1/message"
    assert root.context.trace_id == int(TRACE_ID, 16)  # the caller's trace, continued
    assert root.parent is not None and root.parent.span_id == 0x00F067AA0BA902B7
    spans = spans_of(exporter, root.context.trace_id)
    stores = [s for s in spans if s.name == "emmaus.store"]
    assert any(s.attributes["emmaus.store.write"] for s in stores)
    assert {s.attributes["db.system.name"] for s in stores} == {"sqlite"}
    assert any(s.name.startswith("chat ") for s in spans)
    assert any(s.name == "emmaus.routing" for s in spans)
    by_id = {s.context.span_id: s for s in spans}
    for span in stores:  # every transaction of the turn hangs under the request's span
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
        assert span is root


def test_only_emmaus_makes_the_request_span(
    served: tuple[str, dict[str, str]], exporter: InMemorySpanExporter
) -> None:
    url, headers = served
    answer = httpx.get(f"{url}/ai/v2/models", headers=headers)
    root = request_span(exporter, answer.headers["x-request-id"])
    same_trace = spans_of(exporter, root.context.trace_id)
    assert [s.kind for s in same_trace].count(SpanKind.SERVER) == 1
    scopes = {s.instrumentation_scope.name for s in exporter.get_finished_spans()}
    assert scopes == {"emmaus"}  # FastAPI's own instrumentation is off


def run_fresh(code: str, tmp_path: Path) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_without_configuration_emmaus_imports_nothing_of_opentelemetry(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from emmaus.observability import tracing\n"
        "from emmaus.observability.middleware import Observability\n"
        "from emmaus.store import database\n"
        "from emmaus.services import metering\n"
        "Observability(lambda scope, receive, send: None)\n"
        "assert not tracing.enabled() and tracing.span('x') is tracing.NOTHING\n"
        "assert tracing.open_request('GET', []) is None\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    assert run_fresh(code, tmp_path) == "[]"


def test_without_configuration_no_tracer_is_set_up(tmp_path: Path) -> None:
    # FastAPI (>= 0.165) and redis-py import OpenTelemetry themselves when it is installed;
    # what matters is that no provider is set and no span is made.
    code = (
        "from opentelemetry import trace\n"
        "from emmaus.api.app import create_app\n"
        "from emmaus.config import Settings\n"
        "from emmaus.observability import tracing\n"
        "from emmaus.observability.middleware import Observability\n"
        f"app = create_app(Settings(data_dir={str(tmp_path)!r}))\n"
        "Observability(app)\n"
        "print(tracing.enabled(), type(trace.get_tracer_provider()).__name__)\n"
    )
    assert run_fresh(code, tmp_path) == "False ProxyTracerProvider"


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP collector on loopback: keeps the bodies POSTed to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.bodies.append(body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        super().__init__(("127.0.0.1", 0), Handler)


def test_an_otlp_endpoint_receives_the_spans_of_emmaus_serve(tmp_path: Path) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    collector = Collector()
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_port}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",  # export every 0.1 s instead of 5 s
        "OTEL_SERVICE_NAME": "emmaus-under-test",
    }
    try:
        with emmaus_serve(tmp_path, env, "--no-access-log") as served:
            answer = httpx.get(f"{served.base_url}/platform/v2/models")
            assert answer.status_code == 200
            request_id = answer.headers["x-request-id"].encode()
            deadline = time.monotonic() + 10
            while not any(request_id in body for body in collector.bodies):
                assert time.monotonic() < deadline, "no span reached the collector"
                time.sleep(0.05)
    finally:
        collector.shutdown()
    body = next(b for b in collector.bodies if request_id in b)
    assert b"GET /platform/v2/models" in body and b"emmaus-under-test" in body
