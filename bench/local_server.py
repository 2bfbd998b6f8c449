"""Tokens per second of the embedded model through a real `emmaus serve` (HTTP, auth, routing,
JSON and SSE) vs llama-cpp-python called directly in this process: same GGUF, prompt, sampling
and threads, rounds alternated so a busy machine slows both alike.

Run: `python -m bench.local_server [--tokens 128] [--rounds 5] [--threads 2]`."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import httpx
from llama_cpp import Llama

from bench.harness import Emmaus, serve_emmaus
from emmaus.catalog import load_catalog
from emmaus.engine.providers.local.generate import TEXT_REPEAT_PENALTY
from emmaus.engine.providers.local.model import model_path

RESULTS = Path(__file__).parent / "results"
QUESTION = "Write a very long story about a dragon."
CONTEXT = 2048
CATALOG = f"""
[[models]]
id = "emmaus-smollm2-135m"
family = "open source"
tier = 1
provider = "local"
context_window = {CONTEXT}
max_output_tokens = 1024
capabilities = ["streaming"]
"""


def direct_round(llama: Llama, tokens: int) -> tuple[int, float]:
    started = time.perf_counter()
    result = llama.create_chat_completion(
        [{"role": "user", "content": QUESTION}],
        max_tokens=tokens,
        temperature=0.0,
        repeat_penalty=TEXT_REPEAT_PENALTY,
    )
    return result["usage"]["completion_tokens"], time.perf_counter() - started  # type: ignore[index]


def server_round(
    http: httpx.Client, emmaus: Emmaus, tokens: int, stream: bool
) -> tuple[int, float]:
    body = {
        "model": "emmaus-smollm2-135m",
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": tokens,
        "temperature": 0.0,
        "stream": stream,
        "stream_options": {"include_usage": True},
    }
    url = f"{emmaus.base_url}/ai/v2/chat/completions"
    started = time.perf_counter()
    if not stream:
        response = http.post(url, json=body, headers=emmaus.headers)
        response.raise_for_status()
        return response.json()["usage"]["completion_tokens"], time.perf_counter() - started
    count = 0
    with http.stream("POST", url, json=body, headers=emmaus.headers) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data: {") and '"usage"' in line:
                usage = json.loads(line[6:]).get("usage")
                if usage:
                    count = usage["completion_tokens"]
    return count, time.perf_counter() - started


def measure(tokens: int, rounds: int, threads: int) -> dict[str, float]:
    spec = load_catalog().get("emmaus-smollm2-135m")
    assert spec is not None
    rates: dict[str, list[float]] = {"direct": [], "server": [], "server-stream": []}
    env = {"EMMAUS_LOCAL_THREADS": str(threads)}
    with serve_emmaus(CATALOG, env) as emmaus, httpx.Client(timeout=300) as http:
        llama = Llama(
            str(model_path(spec)),
            n_ctx=CONTEXT,
            n_threads=threads,
            n_threads_batch=threads,
            verbose=False,
        )
        direct_round(llama, tokens)  # warm both paths once
        server_round(http, emmaus, tokens, stream=False)
        for _ in range(rounds):
            count, spent = direct_round(llama, tokens)
            rates["direct"].append(count / spent)
            count, spent = server_round(http, emmaus, tokens, stream=False)
            rates["server"].append(count / spent)
            count, spent = server_round(http, emmaus, tokens, stream=True)
            rates["server-stream"].append(count / spent)
        llama.close()
    medians = {name: statistics.median(values) for name, values in rates.items()}
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1, 2], help="model threads, one run each"
    )
    args = parser.parse_args()
    runs = {}
    for threads in args.threads:
        medians = measure(args.tokens, args.rounds, threads)
        base = medians["direct"]
        print(f"{args.tokens}-token generations, {args.rounds} rounds, {threads} threads")
        for name, value in medians.items():
            print(f"  {name:14s} {value:7.1f} tok/s  ({value / base:.3f} x direct)")
        runs[str(threads)] = {
            "tokens_per_s": {k: round(v, 1) for k, v in medians.items()},
            "ratio_to_direct": {k: round(v / base, 3) for k, v in medians.items()},
        }
    RESULTS.mkdir(exist_ok=True)
    document = {
        "benchmark": "local_server",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tokens": args.tokens,
        "rounds": args.rounds,
        "threads": runs,
    }
    (RESULTS / "local_server.json").write_text(json.dumps(document, indent=2) + "\n")


if __name__ == "__main__":
    main()
