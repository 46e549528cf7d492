"""``allot plan``: reviewed optimization plans; ``review``, ``list``, ``show`` and ``ticket`` them."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, print_json
from tools.errors import InputError
from tools.windows import WINDOW_HELP

plan_app = typer.Typer(help="Optimization plans: propose, review, list, export as tickets.",
                       invoke_without_command=True)
app.add_typer(plan_app, name="plan")

@plan_app.callback()
def plan(
    typer_ctx: typer.Context,
    cluster: Annotated[str | None, typer.Option("--cluster", help="One cluster (default: every cluster).")] = None,
    window: Annotated[str, typer.Option("--window", help=f"Window whose increase is explained: {WINDOW_HELP}.")]
    = "this-week",
    baseline: Annotated[str, typer.Option("--baseline", help="Window compared against.")] = "previous-week",
    waste_window: Annotated[str, typer.Option("--waste-window", help="Window the waste detectors judge.")] = "14d",
    markdown: Annotated[bool, typer.Option("--markdown", help="Print every plan in full, as Markdown.")] = False,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Turn explain rows and waste findings into ranked, stored plans (patches are never applied)."""
    if typer_ctx.invoked_subcommand is not None:
        return
    from tools.plans.propose import ProposeInput, propose_plans
    from tools.plans.render import plans_markdown, plans_text
    from tools.plans.store import drop_stale_open, save_plans

    with open_context(db) as ctx:
        out = propose_plans(ctx, ProposeInput(cluster=cluster, window=window, baseline=baseline,
                                              waste_window=waste_window))
        out.plans = save_plans(ctx, out.plans)
        if out.status == "ok":
            scope = [cluster] if cluster else [r[0] for r in ctx.db.execute(
                "SELECT DISTINCT cluster FROM allocation_hours WHERE cluster <> ''").fetchall()]
            drop_stale_open(ctx, [p.plan_id for p in out.plans], scope)
    if json_out:
        print_json(out)
        return
    if out.status != "ok":
        typer.echo(f"no plans: {out.reason}")
        return
    if markdown:
        typer.echo(plans_markdown(out.plans, "Plans"))
    else:
        typer.echo(plans_text(out.plans, "Plans (ranked by savings, then risk)"))
    for u in out.unplanned:
        typer.echo(f"not planned: {u.source} {u.ref}: {u.reason}")
    for c in out.caveats:
        typer.echo(f"caveat: {c}")


@plan_app.command("review")
def review(
    plan_id: Annotated[str, typer.Argument(help="Plan id, e.g. p-1a2b3c4d5e.")],
    approve: Annotated[bool, typer.Option("--approve", help="Approve the plan.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Reject the plan.")] = False,
    by: Annotated[str, typer.Option("--by", help="Who decides.")] = "",
    note: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Approve or reject a plan; who, when and why are stored with it."""
    from tools.plans.store import review_plan

    if approve == reject:
        raise InputError("plan review: give exactly one of --approve or --reject")
    with open_context(db) as ctx:
        stored = review_plan(ctx, plan_id, "approve" if approve else "reject", by=by, note=note)
    if json_out:
        print_json(stored)
    else:
        typer.echo(f"{stored.plan_id} {stored.decision} by {stored.reviewer} at {stored.reviewed_at}"
                   + (f": {stored.note}" if stored.note else ""))


@plan_app.command("list")
def list_cmd(
    state: Annotated[str | None, typer.Option("--state", help="open, approved or rejected.")] = None,
    cluster: Annotated[str | None, typer.Option("--cluster", help="One cluster.")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """List stored plans by review state."""
    from tools.plans.render import plans_text
    from tools.plans.store import list_plans

    if state not in (None, "open", "approved", "rejected"):
        raise InputError(f"--state {state!r}: use open, approved or rejected")
    with open_context(db) as ctx:
        plans = list_plans(ctx, state, cluster)  # type: ignore[arg-type]
    if json_out:
        print_json([p.model_dump(mode="json") for p in plans])
    else:
        typer.echo(plans_text(plans, f"Plans ({state or 'all states'})"))


@plan_app.command("show")
def show(plan_id: Annotated[str, typer.Argument(help="Plan id.")], json_out: JsonOption = False,
         db: DbOption = None) -> None:
    """Print one plan in full: six fields, patch and rollback patch."""
    from tools.plans.render import plan_markdown
    from tools.plans.store import get_plan

    with open_context(db) as ctx:
        stored = get_plan(ctx, plan_id)
    if json_out:
        print_json(stored)
    else:
        typer.echo(plan_markdown(stored))


@plan_app.command("ticket")
def ticket(plan_id: Annotated[str, typer.Argument(help="An approved plan's id.")], db: DbOption = None) -> None:
    """Print an approved plan as a Markdown ticket body addressed to its owner."""
    from tools.plans.render import ticket_markdown
    from tools.plans.store import get_plan, plan_reviews

    with open_context(db) as ctx:
        typer.echo(ticket_markdown(get_plan(ctx, plan_id), plan_reviews(ctx, plan_id)), nl=False)
