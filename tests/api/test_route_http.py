"""`POST /ai/v2/route`, the routing dry run, through a live server: the decision a completion
would get, with its reason, probabilities and candidates, and no model called."""

from __future__ import annotations

import httpx

from emmaus.config import Settings
from emmaus.testing import UpstreamHandle
from tests.support.auth import change_client, create_client, fetch_token

PROOF = "Prove that the square root of 2 is irrational."


def test_the_dry_run_names_the_decision_and_calls_no_model(
    http: httpx.Client, upstream: UpstreamHandle
) -> None:
    before = upstream.stats()["total_requests"]
    body = {"messages": [{"role": "user", "content": PROOF}], "auto_routing": True}
    response = http.post("/ai/v2/route", json=body)
    assert response.status_code == 200, response.text
    decision = response.json()
    assert decision["routing_mechanism"] == "auto_routing"
    assert decision["routing_tier"] == "tier_3" and decision["model"] == "deep-anthropic"
    assert decision["routing_preference"] == "balanced"
    assert len(decision["probabilities"]) == 3 and decision["probabilities"][2] > 0.5
    assert any("proof" in s for s in decision["signals"])
    assert decision["candidates"][0]["id"] == "deep-anthropic"
    assert decision["needed_tokens"] > 0 and "chose deep-anthropic" in decision["routing_reason"]
    assert upstream.stats()["total_requests"] == before


def test_preference_and_bad_routing(http: httpx.Client) -> None:
    ask = {"messages": [{"role": "user", "content": "Write a short blessing for a new baby."}]}
    tiers = [
        http.post(
            "/ai/v2/route", json={**ask, "auto_routing": True, "routing_preference": p}
        ).json()["routing_tier"]
        for p in ("cost", "balanced", "quality")
    ]
    assert tiers == sorted(tiers)
    both = http.post("/ai/v2/route", json={**ask, "auto_routing": True, "model": "deep-anthropic"})
    assert both.status_code == 422 and both.json()["error"]["name"] == "ROUTING_RULE"
    bad = http.post("/ai/v2/route", json={**ask, "auto_routing": True, "routing_preference": "x"})
    assert bad.status_code == 422


def test_a_clients_default_preference_applies_unless_the_request_names_one(
    base_url: str, api_settings: Settings
) -> None:
    client_id, secret = create_client(api_settings)
    change_client(api_settings, lambda repo: repo.set_routing_preference(client_id, "cost"))
    headers = {"Authorization": f"Bearer {fetch_token(base_url, client_id, secret)}"}
    ask = {"messages": [{"role": "user", "content": PROOF}], "auto_routing": True}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        assert client.post("/ai/v2/route", json=ask).json()["routing_preference"] == "cost"
        named = client.post("/ai/v2/route", json={**ask, "routing_preference": "quality"})
        assert named.json()["routing_preference"] == "quality"
