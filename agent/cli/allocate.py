"""``allot allocate`` and ``allot reconcile``: cost per workload reconciled to the bill."""

from __future__ import annotations

from typing import Annotated, Optional

import typer
from pydantic import ValidationError

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, print_json, print_table
from tools.errors import InputError

WINDOW_HELP = "7d / 14d / Nd (last N full days of data), this-week, all, or START..END (END exclusive)."


@app.command("allocate")
def allocate(
    window: Annotated[str, typer.Option(help=WINDOW_HELP)] = "7d",
    by: Annotated[str, typer.Option(
        help="namespace, workload, owner, team, label:KEY, node_pool or cluster.")] = "namespace",
    cluster: Annotated[Optional[str], typer.Option(help="Only this cluster.")] = None,
    shared_policy: Annotated[Optional[str], typer.Option(
        help="Shared cost: none (visible rows), proportional, even or weights (per team, from settings).")] = None,
    weight: Annotated[Optional[list[str]], typer.Option(
        help="TEAM=WEIGHT for --shared-policy weights (repeat; default: ALLOT_ALLOCATION__TEAM_WEIGHTS).")] = None,
    rebuild: Annotated[bool, typer.Option(help="Recompute the allocation from the warehouse first.")] = False,
    limit: Annotated[Optional[int], typer.Option(help="Show the largest N rows (totals cover all).")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Cost per namespace, workload, owner, team, label, node pool or cluster, with idle and shared."""
    from agent.cli.progress import progress_reporter
    from tools.allocation import rebuild_allocation
    from tools.allocation.query import AllocateInput, allocate_window

    weights = None
    if weight:
        weights = {}
        for item in weight:
            team, _, value = item.partition("=")
            try:
                weights[team.strip()] = float(value)
            except ValueError:
                raise InputError(f"--weight {item!r}: use TEAM=NUMBER, e.g. --weight payments=3") from None
    try:
        args = AllocateInput(window=window, by=by, cluster=cluster, shared_policy=shared_policy, team_weights=weights)
    except ValidationError as err:
        raise InputError("; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())) from None
    with open_context(db) as ctx:
        if rebuild:
            with progress_reporter("allocate") as progress:
                rebuild_allocation(ctx, progress)
        result = allocate_window(ctx, args)
    if result.status == "error":
        raise InputError(result.message)
    if json_out:
        if result.status == "ok":
            print_json([row.model_dump(mode="json") for row in result.rows])
        else:
            print_json(result)
            raise typer.Exit(1)
        return
    if result.status != "ok":
        typer.echo(f"no data: {result.message} (data: {result.data_range})")
        raise typer.Exit(1)
    rows = result.rows[:limit] if limit else result.rows
    table = [[r.key, r.cost, r.cpu_cost, r.memory_cost, r.gpu_cost, r.storage_cost,
              r.network_cost + r.observability_cost + r.other_cost, r.shared_cost, r.idle_cost, r.owner]
             for r in rows]
    totals = [sum(getattr(r, c) for r in result.rows) for c in (
        "cost", "cpu_cost", "memory_cost", "gpu_cost", "storage_cost")]
    other = sum(r.network_cost + r.observability_cost + r.other_cost for r in result.rows)
    table.append(["TOTAL", *totals, other, sum(r.shared_cost for r in result.rows),
                  sum(r.idle_cost for r in result.rows), ""])
    where = f", cluster {result.cluster}" if result.cluster else ""
    print_table(
        f"Cost by {result.by}, {result.window}{where} ({result.cost_basis} cost, shared: {result.shared_policy})",
        [result.by, "cost", "cpu", "memory", "gpu", "storage", "network+other", "shared", "idle", "owner"],
        table,
    )
    typer.echo(f"billed {result.billed_cost:,.2f} + estimated {result.estimated_cost:,.2f} (priced from the "
               "price table: nodes with no billing row)" if result.estimated_cost else
               f"billed {result.billed_cost:,.2f}")
    if result.owner_coverage is not None:
        labels = ", ".join(f"{k} {v:.0%}" for k, v in result.label_coverage.items())
        typer.echo(f"owner coverage {result.owner_coverage:.0%} of workload cost; labels: {labels}")


@app.command("reconcile")
def reconcile_cmd(
    window: Annotated[str, typer.Option(help=WINDOW_HELP)] = "7d",
    cluster: Annotated[Optional[str], typer.Option(help="Only this cluster.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Billed against allocated per cluster and day; every difference must be under one cent."""
    from tools.allocation.reconcile import reconcile

    with open_context(db) as ctx:
        result = reconcile(ctx, window, cluster)
    if result.status == "error":
        raise InputError(result.message)
    if json_out:
        print_json(result)
        if result.status != "ok":
            raise typer.Exit(1)
        return
    if result.status != "ok":
        typer.echo(f"no data: {result.message}")
        raise typer.Exit(1)
    rows = [[line.cluster, line.day.isoformat(), line.billed, line.allocated, line.difference, line.estimated]
            for line in result.lines]
    total_difference = result.allocated_total - result.billed_total
    rows.append(["TOTAL", "", result.billed_total, result.allocated_total,
                 total_difference if abs(total_difference) >= 1e-9 else 0.0, result.estimated_total])
    print_table(f"Billed vs allocated, {result.window} ({result.cost_basis} cost)",
                ["cluster", "day", "billed", "allocated", "difference", "estimated"], rows)
    verdict = "OK" if result.ok else "MISMATCH"
    typer.echo(f"{verdict}: largest difference {result.max_abs_difference:.6f} (limit 0.01); "
               f"bill spread vs bill rows {result.attribution_difference:.6f}; "
               "estimated = priced from the price table, outside the bill")
    if not result.ok:
        raise typer.Exit(1)
