"""``allot demo``: build the demo world (three clusters, planted stories) and ingest it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, print_json


def _money(value: float) -> str:
    return f"{value:,.2f}"


@app.command("demo")
def demo(
    out: Annotated[Path | None, typer.Option("--out", help="Folder for the generated files "
                                             "(default: worlds/<preset> next to the warehouse).")] = None,
    preset: Annotated[str, typer.Option(help="demo, or a benchmark tier: S, M, L.")] = "demo",
    seed: Annotated[int | None, typer.Option(help="Seed of the generator (same seed, same files).")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Generate the demo world's FOCUS bills, kubectl dumps and OpenMetrics history, ingest them
    through the real ingest paths and allocate. Replaces a previous demo in the same warehouse."""
    from agent.cli.progress import progress_reporter
    from tools.errors import InputError
    from tools.sources.demo.runner import run_demo
    from tools.sources.demo.spec import WorldSpec, world_room_shortfall
    from tools.warehouse.room import free_bytes

    try:
        spec = WorldSpec.preset(preset, seed=seed)  # type: ignore[arg-type]
    except ValueError as err:
        raise InputError(f"--preset {preset}: {err}") from err
    with open_context(db) as ctx, progress_reporter("demo") as progress:
        folder = out or Path(ctx.db.execute("SELECT path FROM duckdb_databases() WHERE database_name = "
                                            "current_database()").fetchone()[0]).parent / "worlds" / spec.name
        shortfall = world_room_shortfall(spec, free_bytes(folder))
        if shortfall:
            raise InputError(f"--out {folder}: {shortfall}; pass --out a folder on a disk with more room")
        summary = run_demo(ctx, folder, spec, progress=progress)
    if json_output:
        print_json(summary.model_dump(mode="json", exclude={"reports"}))
        return
    t = summary.seconds
    by = summary.billed_by_cluster
    typer.echo(f"demo world '{spec.name}': {len(summary.clusters)} clusters ({', '.join(summary.clusters)}), "
               f"{summary.nodes} nodes, {summary.pods:,} pods, {summary.pod_hours:,} pod-hours, "
               f"{spec.days} days to {spec.end:%Y-%m-%d}")
    typer.echo(f"bill: {_money(summary.billed_total)} USD billed, {_money(summary.effective_total)} effective, "
               f"{summary.billing_rows:,} FOCUS rows")
    typer.echo("  " + " | ".join(f"{c} {_money(by[c])}" for c in summary.clusters)
               + f" | outside Kubernetes {_money(by[''])}")
    if summary.allocated_total is not None:
        typer.echo(f"allocated: {_money(summary.allocated_total)} USD (all buckets, effective cost)")
    typer.echo(f"files: {summary.out_dir}")
    typer.echo(f"ground truth: {summary.ground_truth}")
    typer.echo(f"time: generate {t['generate']:.1f}s, billing {t['ingest_billing']:.1f}s, kubernetes "
               f"{t['ingest_kubernetes']:.1f}s, metrics {t['ingest_metrics']:.1f}s, allocate {t['allocate']:.1f}s; "
               f"total {t['total']:.1f}s")
