"""Every Prometheus metric Emmaus exports (prefix `emmaus_`), defined once per process.

Counters and histograms are recorded where the single mechanisms are: the ASGI middleware
(requests), `CompletionService` through `services/metering.py` (model calls, tokens, cost,
upstream errors, fallbacks, time to first token, router decisions), the OpenAI-compatible
provider's retry loop, the auth layer's 429s, the safety layer's verdicts. Gauges that
describe the process (embedded model queue, database pool) are sampled by `ProcessGauges`.

Under `emmaus serve --workers N` the values live in files of a shared directory
(`PROMETHEUS_MULTIPROC_DIR`, set up by the server) and `/metrics` sums them over the workers;
gauges use `livesum`: the sum over the workers still alive."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

disable_created_metrics()  # `_created` series double the output and no dashboard reads them

# Whole requests and upstream calls: from a cached answer (1 ms) to a long generation (2 min).
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    120.0,
)  # fmt: skip
# The gateway's own time per request: tens of microseconds to tens of milliseconds.
OVERHEAD_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
)  # fmt: skip
TOKENS_PER_SECOND_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)

REQUESTS = Counter("emmaus_requests", "HTTP requests answered", ["route", "method", "status"])
REQUEST_SECONDS = Histogram(
    "emmaus_request_duration_seconds",
    "Whole HTTP request, first byte in to last byte out (streams included)",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
)
OVERHEAD_SECONDS = Histogram(
    "emmaus_gateway_overhead_seconds",
    "A request that called a model, minus the time it waited on model upstreams",
    ["route"],
    buckets=OVERHEAD_BUCKETS,
)
REQUESTS_IN_FLIGHT = Gauge(
    "emmaus_requests_in_flight", "HTTP requests being answered", multiprocess_mode="livesum"
)
STREAMS_IN_FLIGHT = Gauge(
    "emmaus_streams_in_flight", "SSE responses being streamed", multiprocess_mode="livesum"
)

MODEL_CALLS = Counter(
    "emmaus_model_calls", "Model calls by the model that answered and outcome", ["model", "status"]
)
UPSTREAM_SECONDS = Histogram(
    "emmaus_upstream_duration_seconds",
    "Time one model call spent waiting on its provider (all attempts)",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "emmaus_time_to_first_token_seconds",
    "Streams: from the request's arrival to the first text or tool-call delta released",
    ["model"],
    buckets=LATENCY_BUCKETS,
)
GENERATION_SPEED = Histogram(
    "emmaus_generation_tokens_per_second",
    "Output tokens over the time waited on the provider, per call",
    ["model"],
    buckets=TOKENS_PER_SECOND_BUCKETS,
)
TOKENS = Counter(
    "emmaus_tokens", "Tokens by model, client and direction (input, output)",
    ["model", "client", "direction"],
)  # fmt: skip
COST = Counter("emmaus_cost_usd", "Cost in USD from the catalog's prices", ["model", "client"])
UPSTREAM_ERRORS = Counter(
    "emmaus_upstream_errors", "Model call failures by model and kind (error name)",
    ["model", "kind"],
)  # fmt: skip
UPSTREAM_RETRIES = Counter(
    "emmaus_upstream_retries", "Requests re-sent to an upstream after a failure", ["model"]
)
FALLBACKS = Counter(
    "emmaus_fallbacks", "Calls that moved on to the next model of the routing chain",
    ["from_model"],
)  # fmt: skip
ROUTER_DECISIONS = Counter(
    "emmaus_router_decisions", "Routing decisions of model calls, by mechanism and tier",
    ["mechanism", "tier"],
)  # fmt: skip
SAFETY_ACTIONS = Counter(
    "emmaus_safety_actions", "Safety verdicts that acted, by stage, action and category",
    ["stage", "action", "category"],
)  # fmt: skip
RATE_LIMITED = Counter(
    "emmaus_rate_limit_rejections",
    "Requests refused with a 429, by the limit (requests, tokens, token_endpoint, budget)",
    ["limit"],
)

LOCAL_QUEUE_DEPTH = Gauge(
    "emmaus_local_queue_depth", "Requests waiting for the embedded model", ["model"],
    multiprocess_mode="livesum",
)  # fmt: skip
LOCAL_BUSY = Gauge(
    "emmaus_local_busy", "Embedded model generating now (1) or idle (0)", ["model"],
    multiprocess_mode="livesum",
)  # fmt: skip
DB_POOL_IN_USE = Gauge(
    "emmaus_db_pool_in_use", "Database connections checked out", multiprocess_mode="livesum"
)
LEDGER_PENDING = Gauge(
    "emmaus_usage_ledger_pending", "Usage rows waiting to be written", multiprocess_mode="livesum"
)
LEDGER_ROWS = Counter(
    "emmaus_usage_ledger_rows", "Usage rows by outcome (written, dropped)", ["outcome"]
)


_children: dict[tuple[int, tuple[str, ...]], Any] = {}


def child(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, remembered: the hot path then skips prometheus_client's lock
    and label checks. Label sets are bounded (routes, models, clients), so is the cache."""
    key = (id(metric), labels)
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(*labels)
    return found


def rate_limited(limit: str) -> None:
    RATE_LIMITED.labels(limit).inc()


def retried(model: str) -> None:
    UPSTREAM_RETRIES.labels(model).inc()


def safety_action(stage: str, action: str, category: str) -> None:
    SAFETY_ACTIONS.labels(stage, action, category).inc()
