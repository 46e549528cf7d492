"""``allot waste``: waste findings in dollars, with evidence; ``--score`` checks them against the demo."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, print_json, print_table
from tools.waste_detectors import WasteInput, waste_detectors


@app.command("waste")
def waste(
    cluster: Annotated[str | None, typer.Option(help="Only this cluster.")] = None,
    window: Annotated[str | None, typer.Option(
        help="Window judged: Nd (default 14d), this-week, 2026-W47, START..END.")] = None,
    detector: Annotated[str | None, typer.Option(help="Only this detector, e.g. over_requested.")] = None,
    score: Annotated[bool, typer.Option(
        "--score", help="Print recall, precision and savings against the demo world's ground truth.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Find waste (over-requests, idle replicas, warm GPUs, orphaned volumes, ...) priced from the allocation."""
    with open_context(db) as ctx:
        result = waste_detectors(ctx, WasteInput(cluster=cluster, window=window, detector=detector))
        card = None
        if score and result.status == "ok":
            from tools.detectors.scoring import load_ground_truth, score_findings

            card = score_findings(result.findings, load_ground_truth(ctx), cluster=cluster, detector=detector)
    if json_out:
        payload = result.model_dump(mode="json")
        if card is not None:
            payload["score"] = card.model_dump(mode="json")
        print_json(payload)
        return
    if result.status != "ok":
        typer.echo(f"no data: {result.message}")
        return
    rows = [[f.detector, f.object.label(), f.owner.owner, f.monthly_savings if f.monthly_savings is not None
             else "unpriced", f.confidence, f.title] for f in result.findings]
    total = "—" if result.total_monthly_savings is None else f"{result.total_monthly_savings:,.2f}"
    print_table(f"Waste, {result.message}; total {total} $/month", ["detector", "object", "owner", "$/month",
                                                                  "confidence", "finding"], rows)
    if result.skipped:
        typer.echo(f"{len(result.skipped)} objects not judged (see --json 'skipped'), e.g.: {result.skipped[0].reason}")
    if card is not None:
        for line in card.lines():
            typer.echo(line)
