"""Three `emmaus serve` processes on one PostgreSQL database and one Redis, behind HAProxy
(Debian's package, configured as docs/deployment.md says), under mixed v1 (JSON and SSE) and v2
load against a scripted upstream, with one instance SIGKILLed mid-load:

- limits are exact across instances: a client's requests-per-minute and monthly token budget
  admit exactly what they allow, wherever the requests land, and the instances' own metrics,
  scraped one by one, add up to what the callers saw;
- no acknowledged turn is lost: every v1 200 and every stream that delivered its final event
  has its question and answer in the database, as the caller saw them; every stream that was
  cut has its question stored (a user turn is stored before the model is called) and its reply
  settled by the surviving instances (`partial` or `failed`, never left pending);
- HAProxy takes the dead instance out, and the survivors answer everything after.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from emmaus.config import Settings
from emmaus.conversations.schema import COMPLETE, FAILED, PARTIAL, PENDING, MessageRow
from emmaus.store import Database
from emmaus.testing import UpstreamHandle, serve_upstream_process
from emmaus.usage.budgets import Budget, set_budget
from tests.deployment.cluster import Instance, cluster
from tests.deployment.haproxy import Proxy, haproxy_binary, run_haproxy
from tests.deployment.load import COMPLETIONS, Seen, v1_json_sender, v1_sse_sender, v2_sender
from tests.observability.scrape import value
from tests.observability.serving import EMMAUS, free_port
from tests.support.auth import create_client, fetch_token
from tests.support.databases import run_blocking

CATALOG = """
[[models]]
id = "echo-{tier}"
family = "open source"
tier = {tier}
provider = "openai"
base_url = "{base}"
upstream_model = "echo+drip-20+tag-deploy-{tier}"
context_window = 32000
capabilities = ["streaming"]
"""
PRICED = """
[[models]]
id = "priced"
family = "open source"
tier = 1
priority = -10
provider = "openai"
base_url = "{base}"
upstream_model = "fixed+tokens-6+tag-deploy-priced"
context_window = 32000
input_cost_per_1k = 1.0
output_cost_per_1k = 2.0
capabilities = ["streaming"]
"""
RPM = 20  # the limited client's requests per minute
BURST = 40  # sent at once, spread over the three instances
BUDGET_CALLS = 3  # calls the budget holds
SENDERS = 3  # of each kind: v1 JSON, v1 SSE; plus two v2 senders


@pytest.fixture(scope="module")
def upstream() -> Iterator[UpstreamHandle]:
    with serve_upstream_process(tokens=6, token_size=12) as handle:
        yield handle


def environment(tmp_path: Path, upstream: UpstreamHandle, postgres: str, redis: str, prefix: str):
    catalog = tmp_path / "models.toml"
    text = "".join(CATALOG.format(tier=t, base=upstream.base_url) for t in (1, 2, 3))
    catalog.write_text(text + PRICED.format(base=upstream.base_url))
    return {
        "EMMAUS_DATABASE_URL": postgres,
        "EMMAUS_REDIS_URL": redis,
        "EMMAUS_REDIS_PREFIX": prefix,
        "EMMAUS_JWT_SECRET": "one-secret-for-every-instance-of-this-deployment",
        "EMMAUS_MODELS": str(catalog),
        "EMMAUS_AUTO_MIGRATE": "false",  # `emmaus db upgrade` once, as docs/deployment.md says
        "EMMAUS_TRUSTED_PROXIES": "127.0.0.1",
        "EMMAUS_UPSTREAM_RETRIES": "0",
        "EMMAUS_CHAT_TITLES": "false",
        "EMMAUS_CHAT_LEASE_TIMEOUT": "2",  # a dead instance's replies are settled within ~2.5 s
        "EMMAUS_CHAT_HEARTBEAT_INTERVAL": "0.5",
        "EMMAUS_CHAT_PARTIAL_SAVE_INTERVAL": "0.1",
        "EMMAUS_USAGE_FLUSH_INTERVAL": "0.2",
        "EMMAUS_LOG_LEVEL": "warning",
    }


def bearer(base: str, client: tuple[str, str], scope: str = "api/access") -> dict[str, str]:
    return {"Authorization": f"Bearer {fetch_token(base, *client, scope=scope)}"}


def scrape_all(instances: list[Instance], admin: dict[str, str]) -> dict[str, str]:
    return {
        i.name: httpx.get(f"{i.url}/metrics", headers=admin, timeout=10).text
        for i in instances
        if i.process.poll() is None
    }


def grew(before: dict[str, str], after: dict[str, str], name: str, **labels: str) -> float:
    """How much a series grew, summed over the instances scraped both times."""
    return sum(value(after[i], name, **labels) - value(before[i], name, **labels) for i in after)


def ask(model: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "What is grace?"}]}


def check_rate_limit(proxy: Proxy, headers: dict[str, str]) -> list[httpx.Response]:
    def one(_: int) -> httpx.Response:
        return httpx.post(f"{proxy.url}{COMPLETIONS}", json=ask("priced"), headers=headers)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(BURST)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * RPM + [429] * (BURST - RPM)
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"too_many_requests"}
    assert len({a.headers["x-served-by"] for a in answers if a.status_code == 200}) == 3
    return answers


def check_budget(proxy: Proxy, headers: dict[str, str], settings: Settings, client: str) -> None:
    per_call = httpx.post(f"{proxy.url}{COMPLETIONS}", json=ask("priced"), headers=headers)
    tokens = per_call.json()["usage"]["total_tokens"]
    budgeted = create_client(settings)
    run_blocking(_set_budget(settings, budgeted[0], Budget(tokens=tokens * BUDGET_CALLS)))
    limited = bearer(proxy.url, budgeted)
    answers = [
        httpx.post(f"{proxy.url}{COMPLETIONS}", json=ask("priced"), headers=limited)
        for _ in range(BUDGET_CALLS + 4)
    ]
    assert [a.status_code for a in answers] == [200] * BUDGET_CALLS + [429] * 4
    assert {a.json()["code"] for a in answers[BUDGET_CALLS:]} == {"budget_exceeded"}
    assert len({a.headers["x-served-by"] for a in answers}) >= 2  # counted across instances


async def _set_budget(settings: Settings, client_id: str, budget: Budget) -> None:
    db = Database.from_settings(settings)
    try:
        await set_budget(db, client_id, budget)
    finally:
        await db.aclose()


def streaming(seen: Seen, server: str) -> bool:
    """Whether `server` is in the middle of a v1 stream that delivered some text."""
    with seen.lock:
        return any(s.server == server and s.final is None and s.deltas for s in seen.streams)


def run_load_and_kill(
    proxy: Proxy, victim: Instance, headers: dict[str, str], admin: dict[str, str]
) -> tuple[Seen, str]:
    """Mixed load; SIGKILL `victim` while it streams v1 turns; go on for 2 s; stop. Returns
    what the callers saw and the victim's last scrape."""
    seen, stop = Seen(), threading.Event()
    senders = [
        *(threading.Thread(target=v1_json_sender, args=(proxy.url, headers, n, stop, seen))
          for n in range(SENDERS)),
        *(threading.Thread(target=v1_sse_sender, args=(proxy.url, headers, n, stop, seen))
          for n in range(SENDERS)),
        threading.Thread(target=v2_sender, args=(proxy.url, headers, "echo-2", stop, seen)),
        threading.Thread(target=v2_sender, args=(proxy.url, headers, "priced", stop, seen)),
    ]  # fmt: skip
    for thread in senders:
        thread.start()
    try:
        deadline = time.monotonic() + 40
        while seen.settled_turns() < 24 or not streaming(seen, victim.name):
            assert time.monotonic() < deadline, f"too little load: {seen.settled_turns()} turns"
            time.sleep(0.01)
        last_scrape = httpx.get(f"{victim.url}/metrics", headers=admin, timeout=10).text
        while not streaming(seen, victim.name):  # the scrape took a moment
            assert time.monotonic() < deadline, "the victim streams nothing"
            time.sleep(0.005)
        victim.kill()
        proxy.wait_until({victim.name: "DOWN"}, within=10)
        time.sleep(2)  # load on the two survivors
    finally:
        stop.set()
        for thread in senders:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in senders)
    return seen, last_scrape


async def stored(settings: Settings, seen: Seen) -> tuple[dict[str, MessageRow], int]:
    """Every message of the load's chats by id, once nothing is pending any more (the
    survivors settle the dead instance's replies when its lease runs out)."""
    db = Database.from_settings(settings)
    try:
        deadline = time.monotonic() + 20
        while True:
            async with db.session() as session:
                pending = await session.scalar(
                    select(func.count()).select_from(MessageRow).where(MessageRow.status == PENDING)
                )
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        async with db.session() as session:
            rows = (await session.execute(select(MessageRow))).scalars().all()
            return {row.id: row for row in rows}, int(pending or 0)
    finally:
        await db.aclose()


def check_turns(rows: dict[str, MessageRow], seen: Seen, victim: str) -> None:
    by_query = {(r.chat_id, r.query_id, r.role): r for r in rows.values()}
    for turn in seen.acknowledged:
        question = by_query[(turn["chat_id"], turn["query_id"], "user")]
        answer = rows[turn["message_id"]]
        assert question.content == turn["query"] and question.status == COMPLETE
        assert answer.status == COMPLETE and answer.content == turn["message"]
        assert answer.seq > question.seq
    finished = [s for s in seen.streams if s.final is not None]
    for stream in finished:
        assert stream.done
        answer = rows[stream.final["message_id"]]  # type: ignore[index]
        assert answer.status == COMPLETE
        assert answer.content == stream.final["message"] == "".join(stream.deltas)  # type: ignore[index]
    cut = [s for s in seen.streams if s.final is None]
    assert cut, "no stream was cut by the kill"
    assert any(s.deltas for s in cut)
    for stream in cut:
        assert stream.server == victim  # only the killed instance cut a stream
        question = rows[stream.ids["x-emmaus-user-message-id"]]
        assert question.content == stream.query and question.status == COMPLETE
        answer = rows[stream.ids["x-emmaus-message-id"]]
        assert answer.status in (PARTIAL, FAILED)
        assert stream.query.startswith(answer.content)  # echo: what was saved of the answer
        assert stream.query.startswith("".join(stream.deltas))


def test_three_instances_behind_haproxy_one_killed(
    tmp_path: Path,
    upstream: UpstreamHandle,
    postgres_url: str,
    redis_url: str,
    redis_prefix: str,
) -> None:
    haproxy_binary()  # skip (locally) or fail (CI) before starting anything
    env = environment(tmp_path, upstream, postgres_url, redis_url, redis_prefix)
    migrated = subprocess.run(
        [EMMAUS, "db", "upgrade"], env={**os.environ, **env}, capture_output=True
    )
    assert migrated.returncode == 0, migrated.stderr.decode()
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    loader = create_client(settings)
    admin_client = create_client(settings, scopes="api/access admin")
    limited_client = create_client(settings, rpm=RPM)

    with cluster(tmp_path, env, 3) as instances:
        servers = {i.name: i.address for i in instances}
        with run_haproxy(tmp_path, free_port(), free_port(), servers) as proxy:
            proxy.wait_until(dict.fromkeys(servers, "UP"))
            admin = bearer(proxy.url, admin_client, "api/access admin")
            headers = bearer(proxy.url, loader)

            before = scrape_all(instances, admin)
            check_rate_limit(proxy, bearer(proxy.url, limited_client))
            check_budget(proxy, headers, settings, loader[0])
            after = scrape_all(instances, admin)
            route = {"route": COMPLETIONS}
            rejected = BURST - RPM
            assert grew(before, after, "emmaus_requests_total", **route, status="200") == (
                RPM + 1 + BUDGET_CALLS
            )
            assert grew(before, after, "emmaus_requests_total", **route, status="429") == (
                rejected + 4
            )
            assert grew(before, after, "emmaus_rate_limit_rejections_total", limit="requests") == (
                rejected
            )
            assert grew(before, after, "emmaus_rate_limit_rejections_total", limit="budget") == 4

            victim = instances[1]
            seen, last_scrape = run_load_and_kill(proxy, victim, headers, admin)
            assert value(last_scrape, "emmaus_requests_total", route="/ai/v1/message") > 0

            # The survivors answer everything once HAProxy has taken the victim out.
            for _ in range(10):
                answer = httpx.post(proxy.url + COMPLETIONS, json=ask("priced"), headers=headers)
                assert answer.status_code == 200 and answer.headers["x-served-by"] != victim.name
            survivors = [i for i in instances if i is not victim]
            final = scrape_all(survivors, admin)
            for name, text in final.items():
                assert value(text, "emmaus_requests_total", route="/ai/v1/message") > 0, name
                assert value(text, "emmaus_streams_in_flight") == 0, name
                assert value(text, "emmaus_model_calls_total", model="echo-2", status="ok") > 0

    rows, pending = run_blocking(stored(settings, seen))
    assert pending == 0, "a reply was left pending"
    check_turns(rows, seen, victim.name)
    # What failed, failed on the victim at the kill: one request per sender at most.
    assert len(seen.failures) <= 2 * SENDERS + 2, seen.failures
    assert {server for _, _, server in seen.failures} <= {victim.name, None}, seen.failures
    assert seen.v2_answered["json"] > 0 and seen.v2_answered["sse"] > 0
    assert len(seen.acknowledged) > 0 and any(s.done for s in seen.streams)
