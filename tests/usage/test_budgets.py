"""Budgets as data (SQLite and PostgreSQL), and what a verdict says: headers, the warning past
80%, the message naming the budget and its reset."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from emmaus.store import Database
from emmaus.usage.budgets import Budget, BudgetVerdict, Spend, get_budget, next_month, set_budget

RESET = datetime(2027, 1, 1, tzinfo=UTC)


async def test_set_change_and_clear(database: Database) -> None:
    assert (await get_budget(database, "emc_a")).empty
    await set_budget(database, "emc_a", Budget(tokens=1000))
    await set_budget(database, "emc_a", Budget(tokens=1000, cost_usd=2.5))
    assert await get_budget(database, "emc_a") == Budget(1000, 2.5)
    await set_budget(database, "emc_a", Budget())
    assert (await get_budget(database, "emc_a")).empty
    with pytest.raises(ValueError):
        await set_budget(database, "emc_a", Budget(tokens=-1))


def test_next_month() -> None:
    assert next_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)) == RESET
    assert next_month(datetime(2026, 2, 1, tzinfo=UTC)) == datetime(2026, 3, 1, tzinfo=UTC)


def test_headers_warn_past_80_percent() -> None:
    quiet = BudgetVerdict(Budget(tokens=1000), Spend(799, 0.0), RESET).headers()
    assert quiet["x-budget-remaining-tokens"] == "201" and "x-budget-warning" not in quiet
    assert quiet["x-budget-reset"] == "2027-01-01T00:00:00Z"
    loud = BudgetVerdict(Budget(tokens=1000, cost_usd=1.0), Spend(850, 0.95), RESET).headers()
    assert loud["x-budget-warning"] == "tokens 85% used; cost 95% used"
    assert loud["x-budget-remaining-cost-usd"] == "0.050000"


def test_the_message_names_the_budget_and_its_reset() -> None:
    tokens = BudgetVerdict(Budget(tokens=1000), Spend(1200, 0.0), RESET, "tokens").message()
    assert tokens == (
        "Monthly token budget exceeded (1,200 of 1,000 tokens used); "
        "it resets at 2027-01-01T00:00:00Z"
    )
    cost = BudgetVerdict(Budget(cost_usd=2.0), Spend(0, 2.5), RESET, "cost").message()
    assert "cost budget" in cost and "$2.5000 of $2.0000" in cost
