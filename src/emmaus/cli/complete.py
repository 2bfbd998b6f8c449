"""`emmaus complete`: one in-process completion streamed to the terminal."""

from __future__ import annotations

from rich.console import Console

from emmaus.catalog import load_catalog
from emmaus.config import get_settings
from emmaus.engine.router import RoutingRequest
from emmaus.engine.types import GenerationParams, Message
from emmaus.services.completions import CompletionRequest
from emmaus.system import Engine


async def run_completion(
    console: Console,
    question: str,
    model: str | None,
    family: str | None,
    tradition: str | None,
    system: str | None,
    max_tokens: int,
    temperature: float,
) -> None:
    settings = get_settings()
    catalog = load_catalog(settings.models)
    engine = Engine.build(settings, catalog)
    messages = [Message("system", system)] if system else []
    messages.append(Message("user", question))
    routing = RoutingRequest(
        auto_routing=None if (model or family) else True,
        model=model,
        model_family=family,
        needs=frozenset({"streaming"}),
    )
    request = CompletionRequest(
        messages,
        routing,
        GenerationParams(max_tokens=max_tokens, temperature=temperature),
        tradition,
    )
    try:
        served, deltas = await engine.completions.stream(request)
        console.print(f"[dim]{served.model.id} · {served.reason}[/dim]")
        async for delta in deltas:
            if delta.content:
                console.print(delta.content, end="", markup=False, highlight=False)
            for call in delta.tool_calls or ():
                console.print(call.arguments, end="", markup=False, highlight=False)
            if delta.usage is not None:
                usage = delta.usage
                console.print(
                    f"\n[dim]{usage.prompt_tokens} prompt + {usage.completion_tokens} completion "
                    "tokens[/dim]"
                )
    finally:
        await engine.aclose()
