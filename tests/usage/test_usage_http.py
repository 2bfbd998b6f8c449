"""`GET /platform/v2/usage` on the real app: every model call lands in the ledger (v2, streams,
v1 turns and their suggestions), a client sees its own totals, an admin everyone's, and bad
parameters are 4xx."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from emmaus.store import Database
from emmaus.usage.schema import UsageRow
from tests.observability.conftest import Ops, ask, ops  # noqa: F401
from tests.support.databases import run_blocking

USAGE = "/platform/v2/usage"


@pytest.fixture
def http(ops: Ops) -> httpx.Client:  # noqa: F811
    return httpx.Client(base_url=ops.base_url, timeout=30)


def usage_of(http: httpx.Client, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = http.get(USAGE, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def settled(
    http: httpx.Client, headers: dict[str, str], requests: int, **params: str
) -> dict[str, Any]:
    """The report once `requests` calls are written (the ledger writes every 50 ms here)."""
    deadline = time.monotonic() + 10
    while True:
        body = usage_of(http, headers, **params)
        if body["total"]["requests"] >= requests or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def ledger_rows(ops: Ops, client_id: str) -> list[UsageRow]:  # noqa: F811
    async def read() -> list[UsageRow]:
        db = Database.from_settings(ops.settings)
        try:
            async with db.session() as session:
                query = select(UsageRow).where(UsageRow.client_id == client_id)
                return list(await session.scalars(query.order_by(UsageRow.id)))
        finally:
            await db.aclose()

    return run_blocking(read())


def test_a_client_sees_its_own_and_an_admin_everyones(ops: Ops, http: httpx.Client) -> None:  # noqa: F811
    a, a_headers = ops.client()
    b, b_headers = ops.client()
    _, admin = ops.client("api/access admin")
    answers = [
        http.post("/ai/v2/chat/completions", json=ask("priced"), headers=a_headers).json()
        for _ in range(2)
    ]
    http.post("/ai/v2/chat/completions", json=ask("google-ok"), headers=b_headers)

    mine = settled(http, a_headers, 2)
    assert mine["client_id"] == a and mine["group_by"] == "model"
    assert [g["key"] for g in mine["data"]] == ["priced"]
    prompt = sum(x["usage"]["prompt_tokens"] for x in answers)
    completion = sum(x["usage"]["completion_tokens"] for x in answers)
    assert mine["total"]["prompt_tokens"] == prompt
    assert mine["total"]["completion_tokens"] == completion
    assert mine["total"]["cost_usd"] == pytest.approx((prompt * 1.0 + completion * 2.0) / 1000)
    assert [g["key"] for g in usage_of(http, a_headers, group_by="client")["data"]] == [a]

    everyone = settled(http, admin, 3, group_by="client")
    assert everyone["client_id"] is None
    assert {a, b} <= {g["key"] for g in everyone["data"]}
    only_b = usage_of(http, admin, client_id=b, group_by="day")
    assert only_b["total"]["requests"] == 1 and len(only_b["data"]) == 1

    refused = http.get(USAGE, params={"client_id": b}, headers=a_headers)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert http.get(USAGE).status_code == 401


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "week"},
        {"from": "yesterday"},
        {"from": "2026-12-02", "to": "2026-12-01"},
        {"from": "2020-01-01", "to": "2026-01-01"},
        {"to": "9999-12-31T23:59:59-12:00"},
        {"from": "0001-01-01T00:00:00+14:00"},
        {"client_id": "x" * 65},
    ],
)
def test_bad_parameters_are_422(ops: Ops, http: httpx.Client, params: dict[str, str]) -> None:  # noqa: F811
    _, headers = ops.client("api/access admin")
    response = http.get(USAGE, params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]


def test_a_date_range_and_a_date_without_zone(ops: Ops, http: httpx.Client) -> None:  # noqa: F811
    _, headers = ops.client()
    body = usage_of(http, headers, **{"from": "2026-01-01", "to": "2026-02-01T00:00:00"})
    assert (body["from"], body["to"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    assert body["data"] == [] and body["total"]["requests"] == 0


def test_streams_and_hang_ups_are_recorded(ops: Ops, http: httpx.Client) -> None:  # noqa: F811
    client_id, headers = ops.client()
    body = ask("priced", stream=True)
    assert http.post("/ai/v2/chat/completions", json=body, headers=headers).is_success
    with http.stream(
        "POST", "/ai/v2/chat/completions", json=ask("dripping", stream=True), headers=headers
    ) as response:
        pieces = response.iter_bytes()
        next(pieces)
        next(pieces)  # some text has come: then the caller leaves
    settled(http, headers, 2)
    rows = ledger_rows(ops, client_id)
    assert [(r.model, r.status, r.streamed) for r in rows] == [
        ("priced", "ok", True),
        ("dripping", "cancelled", True),
    ]
    assert rows[0].completion_tokens == 6 and rows[0].route == "/ai/v2/chat/completions"
    assert rows[1].prompt_tokens > 0  # estimated: the upstream never said


def test_a_v1_turn_and_its_suggestions(ops: Ops, http: httpx.Client) -> None:  # noqa: F811
    client_id, headers = ops.client()
    turn = {"query": "What is grace?", "enable_suggestions": 1}
    response = http.post("/ai/v1/message", json=turn, headers=headers)
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 10
    while len(rows := ledger_rows(ops, client_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rows) >= 2  # the answer and the follow-up suggestions, both the client's
    assert {r.route for r in rows} == {"/ai/v1/message"}
    assert all(r.request_id == response.headers["x-request-id"] for r in rows)
