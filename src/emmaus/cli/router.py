"""`emmaus route "query"` (the routing decision in the terminal) and `emmaus router train|eval`
(fit the tier classifier on your own labelled traffic, and measure it against the baselines).

Labelled data is JSON lines: `{"messages": [{"role": "user", "content": ...}, ...], "tier": 2}`
or the short form `{"query": "...", "tier": 3}`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(help="Train and evaluate the auto-router.", no_args_is_help=True)
console = Console()


@app.command()
def train(
    data: Annotated[list[Path], typer.Option("--data", help="Labelled JSONL (repeatable)")],
    out: Annotated[Path, typer.Option(help="Where to write the artifact")] = Path(
        "router_model.json"
    ),
) -> None:
    """Fit the router on labelled conversations; point EMMAUS_ROUTER_MODEL at the result."""
    from emmaus.engine.routing.train import main as train_main

    args = [arg for path in data for arg in ("--data", str(path))] + ["--out", str(out)]
    code = train_main(args)
    if code:
        raise typer.Exit(code)
    console.print(f"wrote {out}: set EMMAUS_ROUTER_MODEL={out.resolve()} to serve it")


@app.command("eval")
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Labelled JSONL to evaluate on")],
    model: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="An artifact from `emmaus router train` (default: the built-in)"),
    ] = None,
) -> None:
    """Agreement, macro-F1, the confusion matrix, calibration and cost, beside the baselines."""
    from emmaus.engine.routing import evaluate_file, format_report
    from emmaus.engine.routing.data import DataError

    try:
        report = evaluate_file(data, str(model) if model else None)
    except DataError as exc:
        raise typer.BadParameter(str(exc)) from exc
    console.print(format_report(report), markup=False, highlight=False)


def show_route(query: str, preference: str, family: str | None) -> None:
    """`emmaus route`: the decision for one user message against the configured catalog."""
    from emmaus.catalog import load_catalog
    from emmaus.config import get_settings
    from emmaus.engine.router import Router, RoutingRequest
    from emmaus.engine.routing import TierClassifier
    from emmaus.engine.types import Message

    settings = get_settings()
    model = str(settings.router_model) if settings.router_model else None
    router = Router(load_catalog(settings.models), TierClassifier.load(model))
    request = RoutingRequest(
        auto_routing=None if family else True,
        model_family=family,
        preference=preference,  # type: ignore[arg-type]
    )
    decision = router.route(request, [Message("user", query)])
    table = Table(show_header=False, box=None)
    table.add_row("model", decision.model.id)
    table.add_row("tier", decision.tier_name)
    table.add_row("confidence", f"{decision.confidence:.2f}")
    if decision.probabilities:
        table.add_row("p(tier 1/2/3)", " / ".join(f"{p:.2f}" for p in decision.probabilities))
    table.add_row("preference", decision.preference)
    table.add_row("signals", "; ".join(decision.signals) or "-")
    table.add_row("candidates", ", ".join(m.id for m in decision.chain))
    table.add_row("reason", decision.reason)
    console.print(table)
