"""Per-client monthly budgets (tokens and/or USD), checked at admission of every model call.

A budget covers a UTC calendar month and resets at 00:00 UTC on the 1st. What a client has
spent this month is kept in Redis when configured (one hash per client and month, shared by
every instance: `HINCRBY` after each call), else in this process. Either is seeded, the first
time a client with a budget is seen in a month, from the usage ledger (one indexed range
query), so a restart or a budget set mid-month starts from what was really used.

Like the tokens-per-minute limit, a budget is checked before the call and charged after it:
calls admitted together can pass it by what they use between them, never by more. Without
Redis each instance counts its own calls on top of the ledger's sum when it first looked:
budgets are exact with one instance, approximate with several (use Redis)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from emmaus.store import Database, utcnow
from emmaus.usage.ledger import UsageEntry
from emmaus.usage.queries import month_start, overall, summarise
from emmaus.usage.schema import BudgetRow

log = logging.getLogger(__name__)

WARN_AT = 0.8  # share of a budget past which responses carry `x-budget-warning`


@dataclass(frozen=True, slots=True)
class Budget:
    tokens: int | None = None
    cost_usd: float | None = None

    @property
    def empty(self) -> bool:
        return self.tokens is None and self.cost_usd is None


@dataclass(slots=True)
class Spend:
    tokens: int = 0
    cost_usd: float = 0.0


def next_month(now: datetime) -> datetime:
    start = month_start(now)
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


@dataclass(frozen=True, slots=True)
class BudgetVerdict:
    budget: Budget
    spent: Spend
    resets_at: datetime
    exceeded: str | None = None  # "tokens" or "cost" when refused

    @property
    def allowed(self) -> bool:
        return self.exceeded is None

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil((self.resets_at - datetime.now(UTC)).total_seconds()))

    def message(self) -> str:
        reset = self.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.exceeded == "tokens":
            used = f"{self.spent.tokens:,} of {self.budget.tokens:,} tokens used"
            return f"Monthly token budget exceeded ({used}); it resets at {reset}"
        used = f"${self.spent.cost_usd:,.4f} of ${self.budget.cost_usd:,.4f} used"
        return f"Monthly cost budget exceeded ({used}); it resets at {reset}"

    def headers(self) -> dict[str, str]:
        headers = {"x-budget-reset": self.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ")}
        warnings = []
        if self.budget.tokens is not None:
            left = max(0, self.budget.tokens - self.spent.tokens)
            headers["x-budget-limit-tokens"] = str(self.budget.tokens)
            headers["x-budget-remaining-tokens"] = str(left)
            share = self.spent.tokens / self.budget.tokens if self.budget.tokens else 1.0
            if share >= WARN_AT:
                warnings.append(f"tokens {min(share, 1.0):.0%} used")
        if self.budget.cost_usd is not None:
            left_usd = max(0.0, self.budget.cost_usd - self.spent.cost_usd)
            headers["x-budget-limit-cost-usd"] = f"{self.budget.cost_usd:.6f}"
            headers["x-budget-remaining-cost-usd"] = f"{left_usd:.6f}"
            share = self.spent.cost_usd / self.budget.cost_usd if self.budget.cost_usd else 1.0
            if share >= WARN_AT:
                warnings.append(f"cost {min(share, 1.0):.0%} used")
        if warnings:
            headers["x-budget-warning"] = "; ".join(warnings)
        return headers


async def set_budget(db: Database, client_id: str, budget: Budget) -> None:
    """Set (or, with an empty budget, remove) a client's budgets."""
    for value in (budget.tokens, budget.cost_usd):
        if value is not None and value < 0:
            raise ValueError("budgets must be >= 0")
    async with db.session(write=True) as session:
        row = await session.get(BudgetRow, client_id, with_for_update=True)
        if budget.empty:
            if row is not None:
                await session.delete(row)
            return
        if row is None:
            row = BudgetRow(client_id=client_id)
            session.add(row)
        row.monthly_tokens, row.monthly_cost_usd = budget.tokens, budget.cost_usd
        row.updated_at = utcnow()


async def get_budget(db: Database, client_id: str) -> Budget:
    async with db.session() as session:
        row = await session.get(BudgetRow, client_id)
    return Budget(row.monthly_tokens, row.monthly_cost_usd) if row else Budget()


async def all_budgets(db: Database) -> dict[str, Budget]:
    async with db.session() as session:
        rows = await session.scalars(select(BudgetRow))
        return {r.client_id: Budget(r.monthly_tokens, r.monthly_cost_usd) for r in rows}


@dataclass
class BudgetGuard:
    """`admit(client_id)` before a model call; `record(entry)` (a usage sink) after it."""

    db: Database
    redis_url: str | None = None
    prefix: str = "emmaus:"
    cache_ttl: float = 5.0
    _budgets: dict[str, tuple[Budget, float]] = field(default_factory=dict)
    _spend: dict[tuple[str, str], Spend] = field(default_factory=dict)  # without Redis
    _seeded: set[tuple[str, str]] = field(default_factory=set)
    _redis: Any = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def budget_of(self, client_id: str) -> Budget:
        """The client's budgets, at most `cache_ttl` seconds old (changes from `emmaus clients`
        reach every instance within that time)."""
        now = time.monotonic()
        hit = self._budgets.get(client_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        budget = await get_budget(self.db, client_id)
        if len(self._budgets) > 10_000:
            self._budgets.clear()
        self._budgets[client_id] = (budget, now + self.cache_ttl)
        return budget

    async def admit(self, client_id: str) -> BudgetVerdict | None:
        """None when the client has no budget; else the verdict (refused when spent)."""
        budget = await self.budget_of(client_id)
        if budget.empty:
            return None
        now = datetime.now(UTC)
        spent = await self._spent(client_id, now)
        exceeded = None
        if budget.tokens is not None and spent.tokens >= budget.tokens:
            exceeded = "tokens"
        elif budget.cost_usd is not None and spent.cost_usd >= budget.cost_usd:
            exceeded = "cost"
        return BudgetVerdict(budget, spent, next_month(now), exceeded)

    def record(self, entry: UsageEntry) -> None:
        """Charge a finished call to its client's month (only clients with a budget)."""
        client = entry.client_id
        hit = self._budgets.get(client) if client else None
        if client is None or hit is None or hit[0].empty:
            return
        tokens = entry.prompt_tokens + entry.completion_tokens
        month = entry.created_at.strftime("%Y-%m")
        if self.redis_url is None:
            spend = self._spend.get((client, month))
            if spend is not None:
                spend.tokens += tokens
                spend.cost_usd += entry.cost_usd
            return
        task = asyncio.ensure_future(self._charge(client, month, tokens, entry.cost_usd))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- spend, in this process or in Redis ---------------------------------------------------

    async def _ledger_spend(self, client_id: str, now: datetime) -> Spend:
        groups = await summarise(self.db, start=month_start(now), end=now, client_id=client_id)
        total = overall(groups)
        return Spend(total.total_tokens, total.cost_usd)

    async def _spent(self, client_id: str, now: datetime) -> Spend:
        month = now.strftime("%Y-%m")
        if self.redis_url is None:
            spend = self._spend.get((client_id, month))
            if spend is None:
                spend = self._spend[(client_id, month)] = await self._ledger_spend(client_id, now)
            return spend
        redis = self._client()
        key = self._key(client_id, month)
        if (client_id, month) not in self._seeded:
            seed = await self._ledger_spend(client_id, now)
            # Only the first instance to look seeds the month; later ones keep its count.
            await redis.eval(_SEED, 1, key, seed.tokens, repr(seed.cost_usd), 40 * 86_400)
            self._seeded.add((client_id, month))
        tokens, cost = await redis.hmget(key, "tokens", "cost")
        return Spend(int(tokens or 0), float(cost or 0.0))

    async def _charge(self, client: str, month: str, tokens: int, cost: float) -> None:
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.hincrby(self._key(client, month), "tokens", tokens)
            pipe.hincrbyfloat(self._key(client, month), "cost", cost)
            await pipe.execute()
        except Exception as exc:  # the budget is checked again at the next call's admission
            log.warning("could not charge %s tokens to the budget of %s: %r", tokens, client, exc)

    def _key(self, client_id: str, month: str) -> str:
        return f"{self.prefix}budget:{client_id}:{month}"

    def _client(self) -> Any:
        if self._redis is None:
            from redis.asyncio import Redis

            self._redis = Redis.from_url(self.redis_url)  # type: ignore[arg-type]
        return self._redis

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._redis is not None:
            await self._redis.aclose()


# KEYS: the month's hash. ARGV: tokens, cost, ttl seconds. Seeds it only if nobody has.
_SEED = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'tokens', ARGV[1], 'cost', ARGV[2])
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return 1
"""
