"""``allot report`` (cost per owner, team, namespace or cost center) and ``allot export focus``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, open_out, print_json
from tools.errors import InputError
from tools.windows import WINDOW_HELP

export_app = typer.Typer(help="Export the allocation for other tools.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@app.command("report")
def report(
    by: Annotated[str, typer.Option("--by", help="owner, team, namespace or cost_center.")] = "owner",
    window: Annotated[str, typer.Option("--window", help=f"Window: {WINDOW_HELP}.")] = "last-30d",
    cluster: Annotated[str | None, typer.Option("--cluster", help="One cluster (default: all).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html or csv.")] = "md",
    shared_policy: Annotated[str, typer.Option(
        "--shared-policy", help="proportional, even, weights (by team) or none (shared and idle kept as rows).")]
    = "proportional",
    out: Annotated[Path | None, typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Direct, shared (policy named) and idle cost per group, trend, label coverage, AI vs core."""
    from tools.reports.owner_report import ReportInput, owner_report
    from tools.reports.render import render_report

    if fmt not in ("md", "html", "csv"):
        raise InputError(f"--format {fmt!r}: use md, html or csv")
    if by not in ("owner", "team", "namespace", "cost_center"):
        raise InputError(f"--by {by!r}: use owner, team, namespace or cost_center")
    if shared_policy not in ("proportional", "even", "weights", "none"):
        raise InputError(f"--shared-policy {shared_policy!r}: use proportional, even, weights or none")
    with open_context(db) as ctx:
        result = owner_report(ctx, ReportInput(by=by, window=window, cluster=cluster,  # type: ignore[arg-type]
                                               shared_policy=shared_policy))  # type: ignore[arg-type]
    if json_out:
        print_json(result)
        return
    text = render_report(result, fmt)
    if out is None:
        typer.echo(text, nl=False)
    else:
        with open_out(out) as stream:
            stream.write(text)
        typer.echo(f"wrote {out} ({fmt}, total {result.total:,.2f} {result.currency})" if result.total is not None
                   else f"wrote {out} ({fmt}, no data: {result.reason})")


@export_app.command("focus")
def export_focus_cmd(
    out: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    window: Annotated[str, typer.Option("--window", help=f"Window: {WINDOW_HELP}.")] = "last-30d",
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Write the bill as FOCUS 1.3 rows, cluster charges split by the allocation (Allocated* columns)."""
    from tools.reports.focus_export import export_focus
    from tools.windows import parse_window

    with open_out(out, newline="") as stream, open_context(db) as ctx:
        summary = export_focus(ctx, parse_window(ctx, window), stream)
    if json_out:
        print_json(summary)
    elif summary.status != "ok":
        typer.echo(f"wrote only the header to {out}: {summary.reason}")
    else:
        typer.echo(f"wrote {summary.rows:,} FOCUS 1.3 rows to {out}: {summary.origin_charges:,} origin charges "
                   f"({summary.split_charges:,} split by the allocation), {summary.window.describe()}; "
                   f"BilledCost {summary.billed_total:,.2f}, EffectiveCost {summary.effective_total:,.2f}")
