"""``reconcile``: billed against allocated, per cluster and day (DESIGN.md rule 1).

* **billed**: the bill spread over hours (``billing_attribution``, the same cost basis as the
  allocation), per cluster and UTC day; rows tied to no cluster form the ``external`` line.
* **allocated**: ``allocation_hours`` rows priced from the bill (``estimated`` false).
* **estimated**: ``allocation_hours`` rows priced from the price table (nodes with no billing
  row, pods on unknown nodes): shown separately, never part of either side.

The difference must stay under one cent on every line; ``ok`` says whether it does. The
``attribution_difference`` checks the step before: the spread bill against ``billing_rows``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from tools.allocation.node_costs import cost_column
from tools.context import Context
from tools.errors import InputError

TOLERANCE = 0.01


class ReconcileLine(BaseModel):
    cluster: str = Field(description="cluster name, or 'external' for services outside any cluster")
    day: date
    billed: float
    allocated: float
    difference: float = Field(description="allocated - billed")
    estimated: float = Field(description="priced from the price table, not part of billed or allocated")


class ReconcileOutput(BaseModel):
    """Billed vs allocated per cluster and day, with the largest difference."""

    status: Literal["ok", "no_data", "error"]
    message: str = ""
    window: str = ""
    start: datetime | None = None
    end: datetime | None = None
    cost_basis: str = "effective"
    lines: list[ReconcileLine] = Field(default_factory=list)
    billed_total: float | None = None
    allocated_total: float | None = None
    estimated_total: float | None = None
    max_abs_difference: float | None = None
    attribution_difference: float | None = Field(
        None, description="billing_attribution total - billing_rows total (whole warehouse)")
    ok: bool | None = Field(None, description="every difference under one cent")


def _tidy(difference: float) -> float:
    """Float noise (below a billionth) is no difference: shown as 0, never as -0.00."""
    return 0.0 if abs(difference) < 1e-9 else difference


def reconcile(ctx: Context, window: str = "7d", cluster: str | None = None) -> ReconcileOutput:
    """Compare the bill with the allocation per cluster and day in a window.

    Args:
        ctx: The context (warehouse, settings).
        window: 7d / Nd (last N full days of data), this-week, all, or START..END.
        cluster: Only this cluster (default: all clusters and the external line).

    Returns:
        ReconcileOutput: one line per cluster and day, totals, the largest absolute difference
        and ``ok`` (all differences under 0.01); ``no_data`` when the window holds nothing.
    """
    from tools.windows import parse_window

    cost = cost_column(ctx.settings.allocation)
    base = dict(window=window, cost_basis=ctx.settings.allocation.cost_basis)
    try:
        w = parse_window(ctx, window, cluster=cluster)
    except InputError as err:
        status = "no_data" if ("outside the data" in str(err) or "no hourly data" in str(err)) else "error"
        return ReconcileOutput(status=status, message=str(err), **base)
    base["window"] = w.describe()
    where, params = "hour >= ? AND hour < ?", [w.start, w.end]
    if cluster is not None:
        where += " AND cluster = ?"
        params.append(cluster)
    rows = ctx.db.execute(
        f"""
        WITH billed AS (
            SELECT cluster, CAST(date_trunc('day', hour) AS DATE) AS day, sum({cost}) AS billed
            FROM billing_attribution WHERE {where} GROUP BY 1, 2
        ),
        alloc AS (
            SELECT cluster, CAST(date_trunc('day', hour) AS DATE) AS day,
                   sum(cost) FILTER (WHERE NOT estimated) AS allocated, sum(cost) FILTER (WHERE estimated) AS estimated
            FROM allocation_hours WHERE {where} GROUP BY 1, 2
        )
        SELECT coalesce(b.cluster, a.cluster), coalesce(b.day, a.day),
               coalesce(b.billed, 0), coalesce(a.allocated, 0), coalesce(a.estimated, 0)
        FROM billed b FULL OUTER JOIN alloc a ON a.cluster = b.cluster AND a.day = b.day
        ORDER BY coalesce(b.cluster, a.cluster) = '', 1, 2
        """,
        params + params,
    ).fetchall()
    if not rows:
        return ReconcileOutput(status="no_data", start=w.start, end=w.end, message=f"no billed or allocated cost in {w.describe()}", **base)
    lines = [ReconcileLine(cluster=c or "external", day=d, billed=b, allocated=a, difference=_tidy(a - b),
                           estimated=e) for c, d, b, a, e in rows]
    attr, bill = ctx.db.execute(
        f"SELECT (SELECT coalesce(sum({cost}), 0) FROM billing_attribution), (SELECT coalesce(sum({cost}), 0) FROM billing_rows)"
    ).fetchone()
    max_diff = max(abs(line.difference) for line in lines)
    return ReconcileOutput(
        status="ok", start=w.start, end=w.end, lines=lines,
        billed_total=sum(line.billed for line in lines), allocated_total=sum(line.allocated for line in lines),
        estimated_total=sum(line.estimated for line in lines), max_abs_difference=max_diff,
        attribution_difference=_tidy(attr - bill), ok=max_diff < TOLERANCE and abs(attr - bill) < TOLERANCE, **base,
    )


class ReconcileInput(BaseModel):
    """Arguments of ``reconcile_window`` (the planner's typed form of ``reconcile``)."""

    window: str = Field("7d", description="7d / Nd (last N full days of data), this-week, all, or START..END")
    cluster: str | None = Field(None, description="Only this cluster (default: all clusters and external services)")


def reconcile_window(ctx: Context, args: ReconcileInput) -> ReconcileOutput:
    """Check that every billed dollar is allocated: billed vs allocated per cluster and day.

    Args:
        ctx: The context (warehouse, settings).
        args: window and optional cluster.

    Returns:
        ReconcileOutput with one line per cluster and day, ``ok`` when every difference is
        under one cent, and the estimated (price-table) cost shown apart.
    """
    return reconcile(ctx, args.window, args.cluster)

