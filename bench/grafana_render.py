"""Fill the Grafana dashboard's panels from a short benchmark run and draw them.

Grafana itself cannot be installed on the offline build machines, so this draws the same
panels (`bench.grafana_panels`: the same queries, evaluated over `/metrics` scrapes) with
matplotlib. The run: a real `emmaus serve` before the scripted upstream, a minute of mixed load
(v2 JSON and SSE from three clients, a model family whose first model fails and falls back, a
flaky upstream that is retried, a client past its rate limit, one past its budget, v1 turns,
a few messages the safety layer acts on), `/metrics` scraped every second.

    python -m bench.grafana_render [--seconds 60]    # docs/img/grafana-emmaus.png
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bench.grafana_panels import PANELS, WINDOW, Samples
from emmaus.testing import serve_upstream_process

ROOT = Path(__file__).resolve().parents[1]
IMAGE = ROOT / "docs" / "img" / "grafana-emmaus.png"
RESULT = ROOT / "bench" / "results" / "grafana_run.json"
EMMAUS = str(Path(sys.executable).parent / "emmaus")

CATALOG = """
[[models]]
id = "priced"
family = "open source"
tier = 1
provider = "openai"
base_url = "{base}"
upstream_model = "fixed+tokens-24+slow-20"
context_window = 32000
input_cost_per_1k = 0.5
output_cost_per_1k = 1.5
capabilities = ["streaming"]

[[models]]
id = "streamer"
family = "open source"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "fixed+tokens-40+drip-10+slow-40"
context_window = 32000
input_cost_per_1k = 1.0
output_cost_per_1k = 3.0
capabilities = ["streaming"]

[[models]]
id = "google-broken"
family = "google"
tier = 2
priority = 10
provider = "openai"
base_url = "{base}"
upstream_model = "fail-500"
context_window = 32000
capabilities = ["streaming"]

[[models]]
id = "google-ok"
family = "google"
tier = 2
provider = "openai"
base_url = "{base}"
upstream_model = "echo+slow-30"
context_window = 32000
input_cost_per_1k = 0.8
output_cost_per_1k = 0.8
capabilities = ["streaming"]

[[models]]
id = "flaky"
family = "anthropic"
tier = 3
provider = "openai"
base_url = "{base}"
upstream_model = "flaky-1+fail-503+retryafter-0+slow-60"
context_window = 32000
input_cost_per_1k = 3.0
output_cost_per_1k = 15.0
capabilities = ["streaming"]
"""
CRISIS = "I want to end my life tonight"


def parse(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def emmaus_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([EMMAUS, *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


def new_client(env: dict[str, str], name: str, *extra: str) -> tuple[str, str]:
    out = emmaus_cli(env, "clients", "create", "--name", name, "--json", *extra)
    created = json.loads(out)
    return created["client_id"], created["client_secret"]


def token(base: str, client: tuple[str, str]) -> dict[str, str]:
    answer = httpx.post(
        f"{base}/oauth2/token", data={"grant_type": "client_credentials"}, auth=client
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def sender(base: str, headers: dict[str, str], bodies: list[dict], pause: float, stop) -> None:
    """Send `bodies` in turn (streams read to the end), pausing between requests."""
    with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
        for body in itertools.cycle(bodies):
            if stop.is_set():
                return
            path = body.pop("_path", "/ai/v2/chat/completions")
            try:
                with http.stream("POST", path, json=body) as answer:
                    answer.read()
            except httpx.HTTPError:
                pass
            body["_path"] = path
            time.sleep(pause * random.uniform(0.5, 1.5))


def ask(content: str = "What is grace?", **extra: object) -> dict:
    return {"messages": [{"role": "user", "content": content}], **extra}


def run(seconds: float) -> list[tuple[float, Samples]]:
    data = Path(tempfile.mkdtemp(prefix="emmaus-grafana-"))
    with serve_upstream_process(tokens=24, token_size=5) as upstream:
        catalog = data / "models.toml"
        catalog.write_text(CATALOG.format(base=upstream.base_url))
        env = {
            **os.environ,
            "EMMAUS_DATA_DIR": str(data),
            "EMMAUS_MODELS": str(catalog),
            "EMMAUS_METRICS_AUTH": "none",
            "EMMAUS_UPSTREAM_BACKOFF": "0.01",
            "EMMAUS_CHAT_TITLES": "false",
            "EMMAUS_LOG_LEVEL": "warning",
        }
        clients = {name: new_client(env, name) for name in ("alice", "bob", "carol")}
        limited = new_client(env, "limited", "--rpm", "40")
        budgeted = new_client(env, "budgeted")
        emmaus_cli(env, "clients", "budget", budgeted[0], "--tokens", "1500")
        port = 18000 + random.randrange(1000)
        server = subprocess.Popen(
            [EMMAUS, "serve", "--port", str(port), "--no-access-log"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            return _load_and_scrape(base, clients, limited, budgeted, seconds)
        finally:
            server.terminate()
            server.wait(timeout=60)


def _load_and_scrape(base, clients, limited, budgeted, seconds) -> list[tuple[float, Samples]]:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("emmaus serve did not start")
        time.sleep(0.2)
    stop = threading.Event()
    plans = []
    for name, client in clients.items():
        headers = token(base, client)
        plans.append((headers, [ask(model="priced"), ask(model="priced", stream=True)], 0.15))
        plans.append((headers, [ask(model="streamer", stream=True)], 0.4))
        if name == "alice":
            plans.append((headers, [ask(model="", model_family="google")], 0.6))
            plans.append((headers, [ask(model="flaky")], 0.8))
            chat = {"_path": "/ai/v1/message", "query": "Who was Paul?", "enable_suggestions": 0}
            plans.append((headers, [chat, ask(CRISIS, model="priced")], 1.5))
    plans.append((token(base, limited), [ask(model="priced")], 0.5))
    plans.append((token(base, budgeted), [ask(model="priced")], 0.7))
    threads = [
        threading.Thread(target=sender, args=(base, h, bodies, pause, stop), daemon=True)
        for h, bodies, pause in plans
    ]
    for thread in threads:
        thread.start()
    scrapes: list[tuple[float, Samples]] = []
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            text = httpx.get(f"{base}/metrics", timeout=10).text
            scrapes.append((time.monotonic() - started, parse(text)))
            time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    return scrapes


def evaluate(scrapes: list[tuple[float, Samples]]) -> list[list[dict]]:
    """Per panel, per query: {legend: [(t, value)]} at every scrape a window after the first."""
    results = []
    for panel in PANELS:
        per_query = []
        for query in panel.queries:
            lines: dict[str, list[tuple[float, float]]] = {}
            for t, now in scrapes:
                if t < WINDOW:
                    continue
                then = min(scrapes, key=lambda s, t=t: abs(s[0] - (t - WINDOW)))[1]
                for key, value in query.at(now, then).items():
                    legend = query.legend
                    for name, part in zip(query.by, key, strict=True):
                        legend = legend.replace("{" + name + "}", part)
                    lines.setdefault(legend, []).append((t, value))
            per_query.append(lines)
        results.append(per_query)
    return results


def draw(results: list[list[dict]], path: Path, seconds: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.style.use("dark_background")
    columns = 3
    rows = (len(PANELS) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(18, 3.4 * rows), facecolor="#111217")
    for axis, panel, per_query in zip(axes.flat, PANELS, results, strict=False):
        axis.set_facecolor("#181b1f")
        axis.set_title(panel.title, loc="left", fontsize=11, color="#d8d9da")
        for lines in per_query:
            for legend, points in sorted(lines.items()):
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, linewidth=1.4, label=legend)
        axis.set_ylabel(panel.unit, fontsize=8, color="#8e8e8e")
        axis.tick_params(labelsize=8, colors="#8e8e8e")
        axis.grid(color="#2c3235", linewidth=0.6)
        axis.set_xlim(WINDOW, seconds)
        if any(per_query_lines for per_query_lines in per_query):
            axis.legend(fontsize=7, loc="upper left", framealpha=0.3)
    for axis in list(axes.flat)[len(PANELS) :]:
        axis.set_visible(False)
    figure.suptitle(
        "Emmaus dashboard (docs/grafana/emmaus.json) filled by python -m bench.grafana_render; "
        "drawn with matplotlib from /metrics scrapes, x = seconds into the run",
        color="#d8d9da",
        fontsize=12,
    )
    figure.tight_layout(rect=(0, 0, 1, 0.97))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80, facecolor=figure.get_facecolor())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--out", type=Path, default=IMAGE)
    args = parser.parse_args()
    scrapes = run(args.seconds)
    results = evaluate(scrapes)
    draw(results, args.out, args.seconds)
    summary = {
        panel.title: {
            legend: round(points[-1][1], 6)
            for lines in per_query
            for legend, points in lines.items()
        }
        for panel, per_query in zip(PANELS, results, strict=True)
    }
    RESULT.write_text(json.dumps({"seconds": args.seconds, "last": summary}, indent=2) + "\n")
    print(f"wrote {args.out} and {RESULT}")


if __name__ == "__main__":
    main()
