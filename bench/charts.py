"""PNG charts for docs/benchmarks.md, drawn from the JSON results in bench/results/.

Run: `python -m bench.charts` (draws whatever results exist); `bench.gateway` calls
`gateway_charts` itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt

RESULTS = Path(__file__).parent / "results"
IMAGES = Path(__file__).parent.parent / "docs" / "img"
COLOURS = {"emmaus": "#2f6f4f", "litellm": "#b0563a", "direct": "#8a8a8a"}


def _cells(document: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    return [c for c in document["cells"] if c["mode"] == mode]


def _bars(ax: Any, cells: list[dict[str, Any]], names: list[str], value: str) -> None:
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(cells))]
        ys = [c[name][value] if name in c else 0 for c in cells]
        bars = ax.bar(xs, ys, width, label=name, color=COLOURS[name])
        ax.bar_label(bars, fmt="%.3g", fontsize=7, padding=1)
    ax.set_xticks(range(len(cells)), [f"c={c['concurrency']}" for c in cells])


def gateway_charts(results: Path = RESULTS / "gateway.json", out: Path = IMAGES) -> list[Path]:
    document = json.loads(results.read_text())
    out.mkdir(parents=True, exist_ok=True)
    written = []
    gateways = [n for n in ("emmaus", "litellm") if n in document["cells"][0]]
    for mode, slug in (("non-streaming", "json"), ("streaming TTFT", "sse")):
        cells = _cells(document, mode)
        fig, (latency, throughput) = plt.subplots(1, 2, figsize=(11, 4))
        _bars(latency, cells, gateways, "added_p50_ms")
        latency.set_yscale("log")
        latency.set_ylabel("added p50 latency, ms (log)")
        latency.set_title(f"Latency added over the upstream ({mode})")
        latency.legend()
        _bars(throughput, cells, ["direct", *gateways], "rps")
        throughput.set_ylabel("requests/s" if slug == "json" else "streams/s")
        throughput.set_title(f"Throughput ({mode})")
        throughput.legend()
        fig.suptitle(
            f"Scripted upstream, {document['tokens_per_answer']} tokens/answer, "
            f"{document['machine']['cpus']} cores, LiteLLM {document['litellm_version']}",
            fontsize=9,
        )
        fig.tight_layout()
        path = out / f"gateway-{slug}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def soak_chart(results: Path = RESULTS / "soak.json", out: Path = IMAGES) -> Path:
    document = json.loads(results.read_text())
    seconds = [s[0] for s in document["samples"]]
    rss = [s[1] for s in document["samples"]]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.plot(seconds, rss, color=COLOURS["emmaus"])
    ax.axvline(document["warmup_s"], color="#999", linestyle="--", label="end of warm-up")
    ax.set_xlabel("seconds")
    ax.set_ylabel("RSS, MiB")
    ax.set_ylim(0, max(rss) * 1.2)
    ax.set_title(
        f"Emmaus RSS under mixed load: {document['requests']} requests, "
        f"{document['growth_pct']:+.2f}% after warm-up"
    )
    ax.legend()
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "soak-rss.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def local_chart(results: Path = RESULTS / "local_server.json", out: Path = IMAGES) -> Path:
    document = json.loads(results.read_text())
    runs = document["threads"]
    names = ["direct", "server", "server-stream"]
    colours = ["#8a8a8a", "#2f6f4f", "#4f8f6f"]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / len(names)
    for i, name in enumerate(names):
        xs = [j + (i - 1) * width for j in range(len(runs))]
        ys = [run["tokens_per_s"][name] for run in runs.values()]
        bars = ax.bar(xs, ys, width, label=name, color=colours[i])
        ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_xticks(range(len(runs)), [f"{t} thread(s)" for t in runs])
    ax.set_ylabel("tokens/s")
    ax.set_title(f"Embedded SmolLM2-135M, {document['tokens']}-token answers")
    ax.legend(fontsize=8)
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "local-tokens.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    drawn: list[Path] = []
    if (RESULTS / "gateway.json").exists():
        drawn += gateway_charts()
    if (RESULTS / "soak.json").exists():
        drawn.append(soak_chart())
    if (RESULTS / "local_server.json").exists():
        drawn.append(local_chart())
    for path in drawn:
        print(path)


if __name__ == "__main__":
    main()
