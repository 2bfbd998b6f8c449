"""Budgets on the real app: headers as a budget fills, a 429 `budget_exceeded` once it is spent
(on every model-calling route, never on the others), seeded from the ledger, and shared through
Redis by two instances on one PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from emmaus.api.app import create_app
from emmaus.config import Settings
from emmaus.store import Database, upgrade_database
from emmaus.usage.budgets import Budget, next_month, set_budget
from emmaus.usage.ledger import UsageEntry, UsageLedger
from tests.observability.conftest import Ops, ask, ops  # noqa: F401
from tests.support.auth import create_client, fetch_token
from tests.support.databases import run_blocking
from tests.support.live_server import live_server

COMPLETIONS = "/ai/v2/chat/completions"


def budget_for(settings: Settings, client_id: str, budget: Budget) -> None:
    """As `emmaus clients budget` does, from outside the server."""

    async def work() -> None:
        db = Database.from_settings(settings)
        try:
            await upgrade_database(db)
            await set_budget(db, client_id, budget)
        finally:
            await db.aclose()

    run_blocking(work())


def one_call(base_url: str, headers: dict[str, str]) -> dict[str, int]:
    """The usage of one `ask("priced")` call (the same for every client: a scripted model)."""
    response = httpx.post(f"{base_url}{COMPLETIONS}", json=ask("priced"), headers=headers)
    usage: dict[str, int] = response.json()["usage"]
    return usage


def reset_text() -> str:
    return next_month(datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_token_budget_fills_warns_and_refuses(ops: Ops) -> None:  # noqa: F811
    used = one_call(ops.base_url, ops.client()[1])["total_tokens"]
    client_id, headers = ops.client()
    budget = int(used * 2.2)  # spent at each admission: 0, 45%, 91% (warned), then refused
    budget_for(ops.settings, client_id, Budget(tokens=budget))
    with httpx.Client(base_url=ops.base_url, headers=headers, timeout=30) as http:
        answers = [http.post(COMPLETIONS, json=ask("priced")) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        first, second, third = (a.headers for a in answers)
        assert first["x-budget-limit-tokens"] == str(budget)
        assert first["x-budget-remaining-tokens"] == str(budget)  # as admitted
        assert second["x-budget-remaining-tokens"] == str(budget - used)
        assert first["x-budget-reset"] == reset_text()
        assert "x-budget-warning" not in first and "x-budget-warning" not in second
        assert third["x-budget-warning"] == f"tokens {2 * used / budget:.0%} used"
        refused = http.post(COMPLETIONS, json=ask("priced"))
        assert refused.status_code == 429
        body = refused.json()
        assert body["code"] == "budget_exceeded"
        assert "token budget" in body["error"] and reset_text() in body["error"]
        assert f"{3 * used:,} of {budget:,} tokens" in body["error"]
        assert int(refused.headers["retry-after"]) > 0
        assert refused.headers["x-request-id"]
        v1 = http.post("/ai/v1/message", json={"query": "Hello?"})
        assert v1.status_code == 429 and v1.json()["code"] == "budget_exceeded"
        assert http.get("/ai/v2/models").status_code == 200  # no model call: not refused


def test_a_cost_budget_warns_at_80_percent(ops: Ops) -> None:  # noqa: F811
    cost = one_call(ops.base_url, ops.client()[1])
    per_call = (cost["prompt_tokens"] * 1.0 + cost["completion_tokens"] * 2.0) / 1000
    client_id, headers = ops.client()
    budget_for(ops.settings, client_id, Budget(cost_usd=per_call * 1.2))
    with httpx.Client(base_url=ops.base_url, headers=headers, timeout=30) as http:
        assert http.post(COMPLETIONS, json=ask("priced")).status_code == 200
        warned = http.post(COMPLETIONS, json=ask("priced"))  # 83% spent at admission
        assert warned.status_code == 200 and warned.headers["x-budget-warning"] == "cost 83% used"
        refused = http.post(COMPLETIONS, json=ask("priced"))
        assert refused.status_code == 429 and "cost budget" in refused.json()["error"]


def test_a_budget_starts_from_the_ledger(ops: Ops) -> None:  # noqa: F811
    """A client that spent this month before (another instance, before a restart) is refused
    at once: the count is seeded from the usage ledger."""
    client_id, headers = ops.client()

    async def spent_before() -> None:
        db = Database.from_settings(ops.settings)
        ledger = UsageLedger(db)
        ledger.record(
            UsageEntry(
                datetime.now(UTC),
                client_id,
                "priced",
                "/ai/v2/chat/completions",
                None,
                5000,
                100,
                0.0,
                "ok",
                10,
                False,
            )
        )
        await ledger.aclose()
        await db.aclose()

    run_blocking(spent_before())
    budget_for(ops.settings, client_id, Budget(tokens=5000))
    refused = httpx.post(f"{ops.base_url}{COMPLETIONS}", json=ask("priced"), headers=headers)
    assert refused.status_code == 429 and "5,100 of 5,000 tokens" in refused.json()["error"]


def test_two_instances_share_a_budget_through_redis(
    tmp_path: Path,
    ops: Ops,  # noqa: F811
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    settings = Settings(
        data_dir=tmp_path,
        models=ops.settings.models,
        database_url=postgres_url,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        jwt_secret="a-shared-secret-of-at-least-32-characters",  # type: ignore[arg-type]
    )
    with live_server(create_app(settings)) as one, live_server(create_app(settings)) as two:
        other, secret = create_client(settings)
        per_call = one_call(one, {"Authorization": f"Bearer {fetch_token(one, other, secret)}"})
        client_id, secret = create_client(settings)
        headers = {"Authorization": f"Bearer {fetch_token(one, client_id, secret)}"}
        budget_for(settings, client_id, Budget(tokens=per_call["total_tokens"] * 3))
        answered = 0
        for turn in range(10):  # alternating instances: 3 calls fit, whichever answers
            base = one if turn % 2 else two
            response = httpx.post(f"{base}{COMPLETIONS}", json=ask("priced"), headers=headers)
            if response.status_code == 200:
                answered += 1
            else:
                assert response.json()["code"] == "budget_exceeded"
        assert answered == 3
