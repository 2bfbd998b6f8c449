"""The Grafana dashboard's panels, defined once: each query renders as the PromQL the dashboard
JSON holds (`docs/grafana/emmaus.json`) and evaluates with the same meaning over `/metrics`
scrapes taken by `bench.grafana_render` (Grafana cannot be installed offline, so its panels
are drawn from the same queries with matplotlib).

Evaluated like Prometheus, simplified: `rate(x[w])` is the increase over the window divided by
it, without Prometheus' extrapolation at the window's edges (a series first seen inside the
window counts from 0); `histogram_quantile` interpolates linearly inside the bucket as
Prometheus does; sums and ratios are the same.

    python -m bench.grafana_panels            # (re)write docs/grafana/emmaus.json
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Labels = frozenset[tuple[str, str]]
Samples = dict[tuple[str, Labels], float]  # one scrape: (name, labels) -> value
Series = dict[str, list[tuple[float, float]]]  # legend -> [(t, value)]

DASHBOARD = Path(__file__).resolve().parents[1] / "docs" / "grafana" / "emmaus.json"
WINDOW = 15  # seconds: the rendered rate window (Grafana: $__rate_interval)


@dataclass(frozen=True)
class Query:
    metric: str  # the family name as exported (a counter without `_total`)
    kind: Literal["rate", "quantile", "gauge"]
    by: tuple[str, ...] = ()
    q: float = 0.0  # for quantiles
    where: tuple[tuple[str, str], ...] = ()  # label="value"; a value ending in "xx" is a class
    per: Query | None = None  # a ratio: this query divided by `per`
    legend: str = ""

    def _selector(self, name: str) -> str:
        if not self.where:
            return name
        parts = []
        for label, wanted in self.where:
            if wanted.endswith("xx"):
                parts.append(f'{label}=~"{wanted[0]}.."')
            else:
                parts.append(f'{label}="{wanted}"')
        return f"{name}{{{','.join(parts)}}}"

    def promql(self) -> str:
        by = f" by ({', '.join(self.by)})" if self.by else ""
        if self.kind == "gauge":
            text = f"sum{by} ({self._selector(self.metric)})"
        elif self.kind == "rate":
            name = self.metric + "_total"
            text = f"sum{by} (rate({self._selector(name)}[$__rate_interval]))"
        else:
            groups = ", ".join(("le", *self.by))
            inner = f"rate({self._selector(self.metric + '_bucket')}[$__rate_interval])"
            text = f"histogram_quantile({self.q}, sum by ({groups}) ({inner}))"
        if self.per is not None:
            text = f"{text} / {self.per.promql()}"
        return text

    def metrics(self) -> set[str]:
        found = {self.metric}
        if self.per is not None:
            found |= self.per.metrics()
        return found

    # -- evaluation over scrapes -----------------------------------------------------------------

    def _matches(self, labels: Labels) -> bool:
        have = dict(labels)
        for label, wanted in self.where:
            value = have.get(label, "")
            if wanted.endswith("xx"):
                if not value.startswith(wanted[0]) or len(value) != 3:
                    return False
            elif value != wanted:
                return False
        return True

    def _key(self, labels: Labels, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
        have = dict(labels)
        return tuple(have.get(name, "") for name in (*extra, *self.by))

    def _sum(self, scrape: Samples, name: str, extra: tuple[str, ...] = ()) -> dict:
        totals: dict[tuple[str, ...], float] = defaultdict(float)
        for (sample, labels), value in scrape.items():
            if sample == name and self._matches(labels):
                totals[self._key(labels, extra)] += value
        return totals

    def at(self, now: Samples, then: Samples) -> dict[tuple[str, ...], float]:
        """The query's value per group, `then` being the scrape one window earlier."""
        if self.kind == "gauge":
            result = dict(self._sum(now, self.metric))
        elif self.kind == "rate":
            name = self.metric + "_total"
            new, old = self._sum(now, name), self._sum(then, name)
            result = {k: max(0.0, v - old.get(k, 0.0)) / WINDOW for k, v in new.items()}
        else:
            name = self.metric + "_bucket"
            new, old = self._sum(now, name, ("le",)), self._sum(then, name, ("le",))
            buckets: dict[tuple[str, ...], list[tuple[float, float]]] = defaultdict(list)
            for key, value in new.items():
                rate = max(0.0, value - old.get(key, 0.0)) / WINDOW
                buckets[key[1:]].append((float(key[0]), rate))
            result = {k: quantile(self.q, sorted(b)) for k, b in buckets.items()}
        if self.per is not None:
            below = self.per.at(now, then)
            result = {k: v / below[k] for k, v in result.items() if below.get(k)}
        return {k: v for k, v in result.items() if not math.isnan(v)}


def quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile over cumulative (upper bound, rate) buckets."""
    if not buckets or buckets[-1][1] == 0:
        return math.nan
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower  # the highest finite bound, as Prometheus answers
            if count == below:
                return upper
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    return lower


@dataclass(frozen=True)
class Panel:
    title: str
    unit: str  # Grafana's unit id: reqps, s, percentunit, short, currencyUSD
    queries: tuple[Query, ...]
    note: str = ""
    extra: dict = field(default_factory=dict)


P = Panel
Q = Query
COMPLETIONS = (("route", "/ai/v2/chat/completions"),)
PANELS: tuple[Panel, ...] = (
    P("Requests by route", "reqps", (Q("emmaus_requests", "rate", ("route",), legend="{route}"),)),
    P(
        "Responses by status",
        "reqps",
        (Q("emmaus_requests", "rate", ("status",), legend="{status}"),),
    ),
    P(
        "Request latency, completions",
        "s",
        tuple(
            Q("emmaus_request_duration_seconds", "quantile", q=q, where=COMPLETIONS, legend=f"p{n}")
            for q, n in ((0.5, 50), (0.99, 99))
        ),
    ),
    P(
        "Gateway overhead (request minus upstream wait)",
        "s",
        tuple(
            Q(
                "emmaus_gateway_overhead_seconds",
                "quantile",
                ("route",),
                q=q,
                legend=f"p{n} {{route}}",
            )
            for q, n in ((0.5, 50), (0.99, 99))
        ),
    ),
    P(
        "Time to first token, p95",
        "s",
        (
            Q(
                "emmaus_time_to_first_token_seconds",
                "quantile",
                ("model",),
                q=0.95,
                legend="{model}",
            ),
        ),
    ),
    P(
        "Upstream wait, p95",
        "s",
        (Q("emmaus_upstream_duration_seconds", "quantile", ("model",), q=0.95, legend="{model}"),),
    ),
    P(
        "Model calls by outcome",
        "reqps",
        (Q("emmaus_model_calls", "rate", ("status",), legend="{status}"),),
    ),
    P(
        "Tokens per second",
        "short",
        (Q("emmaus_tokens", "rate", ("direction",), legend="{direction}"),),
    ),
    P(
        "Spend per client (USD/s)",
        "currencyUSD",
        (Q("emmaus_cost_usd", "rate", ("client",), legend="{client}"),),
    ),
    P(
        "Upstream errors, retries, fallbacks",
        "reqps",
        (
            Q("emmaus_upstream_errors", "rate", ("kind",), legend="error {kind}"),
            Q("emmaus_upstream_retries", "rate", legend="retries"),
            Q("emmaus_fallbacks", "rate", legend="fallbacks"),
        ),
    ),
    P(
        "Rate-limit and budget rejections",
        "reqps",
        (Q("emmaus_rate_limit_rejections", "rate", ("limit",), legend="{limit}"),),
    ),
    P(
        "Upstream error ratio",
        "percentunit",
        (
            Q(
                "emmaus_upstream_errors",
                "rate",
                per=Q("emmaus_model_calls", "rate"),
                legend="errors / calls",
            ),
        ),
    ),
    P(
        "In flight",
        "short",
        (
            Q("emmaus_requests_in_flight", "gauge", legend="requests"),
            Q("emmaus_streams_in_flight", "gauge", legend="streams"),
            Q("emmaus_db_pool_in_use", "gauge", legend="db connections"),
        ),
    ),
    P(
        "Router decisions by tier",
        "reqps",
        (Q("emmaus_router_decisions", "rate", ("tier",), legend="{tier}"),),
    ),
    P(
        "Safety actions by category",
        "reqps",
        (Q("emmaus_safety_actions", "rate", ("category",), legend="{category}"),),
    ),
    P(
        "Embedded model and usage ledger",
        "short",
        (
            Q("emmaus_local_queue_depth", "gauge", legend="local queue"),
            Q("emmaus_usage_ledger_pending", "gauge", legend="ledger rows pending"),
            Q("emmaus_usage_ledger_rows", "rate", ("outcome",), legend="ledger rows/s {outcome}"),
        ),
    ),
)


def dashboard() -> dict:
    """The dashboard as Grafana imports it (schema 39; a Prometheus data source variable)."""
    panels = []
    for number, panel in enumerate(PANELS):
        targets = [
            {
                "refId": chr(ord("A") + i),
                "expr": query.promql(),
                "legendFormat": query.legend.replace("{", "{{").replace("}", "}}"),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
            }
            for i, query in enumerate(panel.queries)
        ]
        panels.append(
            {
                "id": number + 1,
                "type": "timeseries",
                "title": panel.title,
                "gridPos": {"h": 8, "w": 8, "x": (number % 3) * 8, "y": (number // 3) * 8},
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                "targets": targets,
            }
        )
    return {
        "title": "Emmaus",
        "uid": "emmaus-overview",
        "tags": ["emmaus"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Prometheus",
                    "type": "datasource",
                    "query": "prometheus",
                }
            ]
        },
        "panels": panels,
    }


def dashboard_text() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main() -> None:
    DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD.write_text(dashboard_text())
    print(f"wrote {DASHBOARD}")


if __name__ == "__main__":
    main()
