"""The Grafana dashboard (`docs/grafana/emmaus.json`): every metric its queries read is one the
app exports (read from a live app's `/metrics`, where every family is declared even before it
has samples), and the file is what `bench.grafana_panels` generates (the rendered panels in
docs/img come from the same queries)."""

from __future__ import annotations

import json
import re

import httpx
from bench.grafana_panels import DASHBOARD, PANELS, Query, dashboard_text, quantile

from tests.observability.conftest import Ops, ops  # noqa: F401

_SERIES = re.compile(r"\b(emmaus_[a-z_]+)")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def queried_families() -> set[str]:
    exprs = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p["targets"]]
    found = set()
    for expr in exprs:
        for name in _SERIES.findall(expr):
            for suffix in _SUFFIXES:
                name = name.removesuffix(suffix)
            found.add(name)
    return found


def exported_families(text: str) -> set[str]:
    declared = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.split()[2:4]
            declared.add(name.removesuffix("_total") if kind == "counter" else name)
    return declared


def test_every_queried_metric_is_exported(ops: Ops) -> None:  # noqa: F811
    _, headers = ops.client(scopes="api/access admin")
    scrape = httpx.get(f"{ops.base_url}/metrics", headers=headers)
    assert scrape.status_code == 200
    queried = queried_families()
    assert len(queried) >= 15
    missing = queried - exported_families(scrape.text)
    assert not missing, f"the dashboard queries metrics the app does not export: {missing}"


def test_the_dashboard_file_is_the_generated_one() -> None:
    assert DASHBOARD.read_text() == dashboard_text(), "run python -m bench.grafana_panels"
    assert len(json.loads(DASHBOARD.read_text())["panels"]) == len(PANELS)


def test_quantiles_are_interpolated_as_prometheus_does() -> None:
    buckets = [(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (float("inf"), 40.0)]
    assert quantile(0.25, buckets) == 0.1  # rank 10: the top of the first bucket
    assert abs(quantile(0.5, buckets) - 0.3) < 1e-9  # rank 20: halfway through (0.1, 0.5]
    assert quantile(0.99, [(0.1, 0.0), (float("inf"), 5.0)]) == 0.1  # in +Inf: highest bound


def test_a_ratio_query_divides_matching_groups() -> None:
    calls = Query("emmaus_model_calls", "rate")
    errors = Query("emmaus_upstream_errors", "rate", per=calls)
    name = frozenset({("model", "m")})
    then = {("emmaus_model_calls_total", name): 10.0, ("emmaus_upstream_errors_total", name): 1.0}
    now = {("emmaus_model_calls_total", name): 40.0, ("emmaus_upstream_errors_total", name): 4.0}
    assert errors.at(now, then) == {(): 0.1}
    assert errors.promql().endswith("/ sum (rate(emmaus_model_calls_total[$__rate_interval]))")
