"""``allot billing``: cost straight from the bill, BilledCost and EffectiveCost side by side."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from agent.cli import app
from agent.cli.common import DbOption, JsonOption, open_context, print_json, print_table
from tools.billing_query import GROUPINGS, BillingQueryInput, billing_query, describe_window
from tools.errors import InputError


@app.command("billing")
def billing(
    window: Annotated[str, typer.Option(
        help="all, START..END (dates or datetimes, END exclusive), an ISO week (2024-W38), "
        "this-week, previous-week, last-30d or Nd.")] = "all",
    by: Annotated[str, typer.Option("--by", help=f"Group by: {', '.join(GROUPINGS)}.")] = "service",
    service: Annotated[str | None, typer.Option(help="Only this ServiceName.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this SubAccountId (or BillingAccountId).")] = None,
    region: Annotated[str | None, typer.Option(help="Only this RegionId.")] = None,
    charge_category: Annotated[str | None, typer.Option(help="Only Usage, Purchase, Tax, Credit or Adjustment.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Only rows whose cluster tag names this cluster.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only rows with tag KEY=VALUE (or KEY).")] = None,
    currency: Annotated[str | None, typer.Option(help="BillingCurrency, when the window holds several.")] = None,
    limit: Annotated[int | None, typer.Option(help="Show the largest N groups (totals cover all).")] = None,
    json_out: JsonOption = False,
    db: DbOption = None,
) -> None:
    """Cost from the bill by service, resource type, account, region, charge category, cluster or tag."""
    try:
        args = BillingQueryInput(
            window=window, group_by=by, service=service, account=account, region=region,
            charge_category=charge_category, cluster=cluster, tag=tag, currency=currency, limit=limit,
        )
    except ValidationError as err:
        raise InputError("; ".join(e["msg"].removeprefix("Value error, ") for e in err.errors())) from None
    with open_context(db) as ctx:
        result = billing_query(ctx, args)
    if json_out:
        print_json(result)
        return
    if result.status != "ok":
        typer.echo(f"no data: {result.reason}")
        return
    rows = [[g.key if not g.label else f"{g.key} ({g.label})", g.billed_cost, g.effective_cost, g.rows]
            for g in result.rows]
    totals = result.totals
    rows.append(["TOTAL", totals.billed_cost, totals.effective_cost, totals.rows])
    print_table(
        f"Billing by {result.group_by}, {describe_window(result.window)}, {result.currency}",
        [result.group_by, "BilledCost", "EffectiveCost", "rows"],
        rows,
    )

