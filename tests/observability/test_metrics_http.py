"""`/metrics` on the real app: protected by the admin scope, and each series moved by the one
mechanism that records it (the middleware, CompletionService, the provider's retries, the
limiter, the safety layer). Counters are compared before and after, as other tests share them."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from emmaus.api.app import create_app
from emmaus.config import Settings
from tests.observability.conftest import Ops, ask
from tests.observability.scrape import value
from tests.support.live_server import live_server

CRISIS = "I want to end my life tonight, I have the pills ready."


@pytest.fixture(scope="module")
def admin(ops: Ops) -> dict[str, str]:
    return ops.client("api/access admin")[1]


def scrape(http: httpx.Client, admin: dict[str, str]) -> str:
    response = http.get("/metrics", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_metrics_need_an_admin_token(ops: Ops, http: httpx.Client, admin: dict[str, str]) -> None:
    assert http.get("/metrics").status_code == 401
    _, api_only = ops.client()
    refused = http.get("/metrics", headers=api_only)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert "emmaus_requests_total" in scrape(http, admin)


def test_requests_by_route_template_method_and_status(
    http: httpx.Client, admin: dict[str, str]
) -> None:
    labels = {"route": "/ai/v2/models/{model_id:path}", "method": "GET", "status": "200"}
    before = value(scrape(http, admin), "emmaus_requests_total", **labels)
    for model in ("priced", "google-ok"):
        assert http.get(f"/ai/v2/models/{model}", headers=admin).status_code == 200
    http.get("/nowhere/at/all")
    text = scrape(http, admin)
    assert value(text, "emmaus_requests_total", **labels) == before + 2
    assert value(text, "emmaus_requests_total", route="unmatched", status="404") >= 1
    assert "/nowhere" not in text  # paths never become labels


def test_a_413_is_counted_under_its_route(http: httpx.Client, admin: dict[str, str]) -> None:
    labels = {"route": "/ai/v2/chat/completions", "status": "413"}
    before = value(scrape(http, admin), "emmaus_requests_total", **labels)
    big = http.post("/ai/v2/chat/completions", content=b"x" * 20_000, headers=admin)
    assert big.status_code == 413
    assert value(scrape(http, admin), "emmaus_requests_total", **labels) == before + 1


def test_tokens_cost_latency_and_overhead_of_a_completion(
    ops: Ops, http: httpx.Client, admin: dict[str, str]
) -> None:
    client_id, headers = ops.client()
    before = scrape(http, admin)
    body = http.post("/ai/v2/chat/completions", json=ask("priced"), headers=headers).json()
    usage = body["usage"]
    text = scrape(http, admin)
    tokens = {"model": "priced", "client": client_id}
    assert value(text, "emmaus_tokens_total", direction="input", **tokens) == usage["prompt_tokens"]
    assert (
        value(text, "emmaus_tokens_total", direction="output", **tokens)
        == (usage["completion_tokens"])
    )
    cost = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1000
    assert value(text, "emmaus_cost_usd_total", **tokens) == pytest.approx(cost)
    for name in (
        "emmaus_upstream_duration_seconds_count",
        "emmaus_request_duration_seconds_count",
        "emmaus_gateway_overhead_seconds_count",
    ):
        labels = {"model": "priced"} if "upstream" in name else {}
        assert value(text, name, **labels) > value(before, name, **labels), name
    calls = {"mechanism": "direct_model_selection", "tier": "tier_1"}
    assert value(text, "emmaus_router_decisions_total", **calls) > value(
        before, "emmaus_router_decisions_total", **calls
    )


def test_time_to_first_token_and_streams_in_flight(
    ops: Ops, http: httpx.Client, admin: dict[str, str]
) -> None:
    _, headers = ops.client()
    name = "emmaus_time_to_first_token_seconds_count"
    before = value(scrape(http, admin), name, model="dripping")
    body = ask("dripping", stream=True)
    with http.stream("POST", "/ai/v2/chat/completions", json=body, headers=headers) as response:
        pieces = response.iter_bytes()
        next(pieces)  # the stream is open (two seconds of tokens to come): counted now
        assert value(scrape(http, admin), "emmaus_streams_in_flight") >= 1
        assert b"".join(pieces).endswith(b"data: [DONE]\n\n")
    text = scrape(http, admin)
    assert value(text, name, model="dripping") == before + 1
    assert value(text, "emmaus_streams_in_flight") == 0


def test_upstream_errors_retries_and_fallbacks(
    ops: Ops, http: httpx.Client, admin: dict[str, str]
) -> None:
    _, headers = ops.client()
    before = scrape(http, admin)
    family = {"model_family": "google", "messages": [{"role": "user", "content": "Explain why."}]}
    assert http.post("/ai/v2/chat/completions", json=family, headers=headers).json()["model"] == (
        "google-ok"
    )
    assert http.post("/ai/v2/chat/completions", json=ask("flaky-once"), headers=headers).is_success
    text = scrape(http, admin)

    def grew(name: str, **labels: str) -> float:
        return value(text, name, **labels) - value(before, name, **labels)

    broken = {"model": "google-broken", "kind": "PROVIDER_UNAVAILABLE"}
    assert grew("emmaus_upstream_errors_total", **broken) == 1
    assert grew("emmaus_fallbacks_total", from_model="google-broken") == 1
    assert grew("emmaus_upstream_retries_total", model="google-broken") == 1  # then it gave up
    assert grew("emmaus_upstream_retries_total", model="flaky-once") == 1  # then it answered
    assert grew("emmaus_model_calls_total", model="google-ok", status="ok") == 1


def test_rate_limit_rejections(ops: Ops, http: httpx.Client, admin: dict[str, str]) -> None:
    _, headers = ops.client(rpm=1)
    before = value(scrape(http, admin), "emmaus_rate_limit_rejections_total", limit="requests")
    http.get("/ai/v2/models", headers=headers)
    assert http.get("/ai/v2/models", headers=headers).status_code == 429
    after = value(scrape(http, admin), "emmaus_rate_limit_rejections_total", limit="requests")
    assert after == before + 1


def test_safety_actions_by_category(ops: Ops, http: httpx.Client, admin: dict[str, str]) -> None:
    _, headers = ops.client()
    labels = {"stage": "input", "action": "support", "category": "self_harm"}
    before = value(scrape(http, admin), "emmaus_safety_actions_total", **labels)
    answer = http.post("/ai/v2/chat/completions", json=ask("priced", CRISIS), headers=headers)
    assert answer.json()["safety"]["action"] == "support"
    text = scrape(http, admin)
    assert value(text, "emmaus_safety_actions_total", **labels) == before + 1
    assert value(text, "emmaus_model_calls_total", model="priced", status="safety") >= 1


def test_process_gauges_are_exported(http: httpx.Client, admin: dict[str, str]) -> None:
    text = scrape(http, admin)
    for name in (
        "emmaus_db_pool_in_use",
        "emmaus_usage_ledger_pending",
        "emmaus_requests_in_flight",
    ):
        assert name in text


@pytest.mark.parametrize(
    ("options", "anonymous", "admin_status"),
    [({"metrics_auth": "none"}, 200, 200), ({"metrics_listen": "127.0.0.1:1"}, 404, 404),
     ({"metrics": False}, 404, 404)],
)  # fmt: skip
def test_configured_protection(
    tmp_path: Path, ops: Ops, options: dict[str, object], anonymous: int, admin_status: int
) -> None:
    settings = Settings(data_dir=tmp_path, models=ops.settings.models, **options)  # type: ignore[arg-type]
    with live_server(create_app(settings)) as url:
        assert httpx.get(f"{url}/metrics").status_code == anonymous
