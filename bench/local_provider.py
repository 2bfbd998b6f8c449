"""Tokens per second of the embedded model: through `LocalProvider` vs llama-cpp-python called
directly, same GGUF, same prompt, same sampling, measured alternately in one run.

Run: `python -m bench.local_provider [--tokens 64] [--rounds 7] [--threads 2]`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import time

from llama_cpp import Llama

from emmaus.catalog import load_catalog
from emmaus.config import Settings
from emmaus.engine.providers.local.generate import TEXT_REPEAT_PENALTY
from emmaus.engine.providers.local.model import model_path
from emmaus.engine.providers.local.provider import LocalProvider
from emmaus.engine.types import GenerationParams, Message

QUESTION = "Write a very long story about a dragon."


def direct_round(llama: Llama, tokens: int) -> tuple[int, float]:
    started = time.perf_counter()
    result = llama.create_chat_completion(
        [{"role": "user", "content": QUESTION}],
        max_tokens=tokens,
        temperature=0.0,
        repeat_penalty=TEXT_REPEAT_PENALTY,
    )
    return result["usage"]["completion_tokens"], time.perf_counter() - started  # type: ignore[index]


async def provider_round(
    provider: LocalProvider, spec: object, tokens: int, stream: bool
) -> tuple[int, float]:
    params = GenerationParams(max_tokens=tokens, temperature=0.0)
    messages = [Message("user", QUESTION)]
    started = time.perf_counter()
    if stream:
        usage = None
        async for delta in provider.stream(spec, messages, params):  # type: ignore[arg-type]
            usage = delta.usage or usage
        assert usage is not None
        count = usage.completion_tokens
    else:
        result = await provider.complete(spec, messages, params)  # type: ignore[arg-type]
        count = result.usage.completion_tokens
    return count, time.perf_counter() - started


async def main(tokens: int, rounds: int, threads: int) -> None:
    spec = load_catalog().get("emmaus-smollm2-135m")
    assert spec is not None
    spec = dataclasses.replace(spec, context_window=2048)
    llama = Llama(
        str(model_path(spec)), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False
    )
    provider = LocalProvider(Settings(local_threads=threads))
    await provider.warm_up(spec)
    rates: dict[str, list[float]] = {"direct": [], "provider": [], "provider-stream": []}
    direct_round(llama, tokens)  # warm both paths once
    await provider_round(provider, spec, tokens, stream=False)
    for _ in range(rounds):
        count, spent = direct_round(llama, tokens)
        rates["direct"].append(count / spent)
        count, spent = await provider_round(provider, spec, tokens, stream=False)
        rates["provider"].append(count / spent)
        count, spent = await provider_round(provider, spec, tokens, stream=True)
        rates["provider-stream"].append(count / spent)
    await provider.aclose()
    llama.close()
    base = statistics.median(rates["direct"])
    print(f"{tokens}-token generations, {rounds} rounds, {threads} threads (median tokens/s)")
    for name, values in rates.items():
        median = statistics.median(values)
        print(f"  {name:16s} {median:7.1f} tok/s  ({median / base:.3f} x direct)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    asyncio.run(main(args.tokens, args.rounds, args.threads))
