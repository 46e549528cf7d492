"""Tool ``owner_report``: cost per owner, team, namespace or cost center, with shared and idle split.

Reads ``allocation_hours`` joined to ``workload_owners`` for a window and the window before it.
Every allocated dollar of the window appears exactly once, so the report's total equals the
allocation's total:

* **direct** the workload buckets' cost, grouped by the key (a workload with no value for the
  key goes to ``unowned`` / ``(no team)`` / ``(no cost_center)``);
* **idle** each node pool's ``__idle__`` cost, split over the groups in proportion to their
  direct cost *in that pool*; idle of a pool no group used stays in the row ``__idle__``;
* **shared** ``__shared__:*`` cost split over the groups by the named policy: ``proportional``
  (to direct cost), ``even``, ``weights`` (``settings.allocation.team_weights``, ``--by team``
  only) or ``none`` (kept as its own row, and idle too);
* the rest (``__unowned_storage__``, ``__unallocated__``, out-of-cluster services) stays in rows
  named by their bucket.

Trend compares each group's total with the previous window of the same length; a previous
window without data gives ``None`` (never a 0% or a $0).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, Field

from tools.context import Context
from tools.errors import InputError
from tools.reports.coverage import AiSplit, LabelCoverage, ai_split, label_coverage
from tools.windows import Window, parse_window

ReportKey = Literal["owner", "team", "namespace", "cost_center"]
SharedPolicy = Literal["proportional", "even", "weights", "none"]
MISSING = {"owner": "unowned", "team": "(no team)", "namespace": "(no namespace)", "cost_center": "(no cost_center)"}
IDLE_ROW, SHARED_ROW = "__idle__", "__shared__"


class ReportInput(BaseModel):
    """Arguments of :func:`owner_report`."""

    by: ReportKey = Field("owner", description="Group by owner, team, namespace or cost_center.")
    window: str = Field("last-30d", description="Window: last-30d, this-week, 2026-W47, A..B, ...")
    cluster: str | None = Field(None, description="One cluster, or every cluster when None.")
    shared_policy: SharedPolicy = Field("proportional", description="How shared cost is split over the groups.")
    top: int = Field(10, description="How many top movers and unlabelled workloads to list.")


class ReportRow(BaseModel):
    key: str
    kind: Literal["group", "residual"] = Field(description="group: a value of the key; residual: a bucket "
                                               "no group carries (idle of unused pools, unowned storage, ...).")
    direct: float
    shared: float
    idle: float
    total: float
    previous_total: float | None = Field(description="Total in the previous window; None when it has no data.")
    change: float | None
    change_pct: float | None


class DailyPoint(BaseModel):
    day: str
    costs: dict[str, float] = Field(description="Cost per group (top groups, the rest as 'other').")


class OwnerReport(BaseModel):
    """Output of :func:`owner_report`."""

    status: Literal["ok", "no_data", "error"]
    reason: str | None = None
    by: ReportKey
    cluster: str | None
    window: Window
    previous_window: Window
    shared_policy: SharedPolicy
    policy_text: str = ""
    idle_policy_text: str = ""
    currency: str = "USD"
    total: float | None = None
    previous_total: float | None = None
    direct_total: float | None = None
    shared_total: float | None = None
    idle_total: float | None = None
    rows: list[ReportRow] = Field(default_factory=list)
    daily: list[DailyPoint] = Field(default_factory=list)
    top_movers: list[ReportRow] = Field(default_factory=list)
    coverage: LabelCoverage | None = None
    ai: AiSplit | None = None


_SQL = """
SELECT a.bucket, a.namespace, a.workload_kind, a.workload_name, a.node_pool,
       CASE ? WHEN 'owner' THEN nullif(o.owner, 'unowned') WHEN 'team' THEN o.team
              WHEN 'cost_center' THEN o.cost_center ELSE nullif(a.namespace, '') END AS grp,
       date_trunc('day', a.hour) AS day, sum(a.cost) AS cost
FROM allocation_hours a
LEFT JOIN workload_owners o ON a.bucket = 'workload' AND o.cluster = a.cluster AND o.namespace = a.namespace
     AND o.workload_kind = a.workload_kind AND o.workload_name = a.workload_name
WHERE a.hour >= ? AND a.hour < ? AND (? IS NULL OR a.cluster = ?)
GROUP BY ALL
"""


def _weights(groups: dict[str, float], policy: SharedPolicy, team_weights: dict[str, float], by: str) -> dict[str, float]:
    """Share of the shared cost per group (sums to 1), by policy."""
    names = [g for g, v in groups.items() if v != 0]
    if not names:
        return {}
    if policy == "even":
        return {g: 1 / len(names) for g in names}
    if policy == "weights":
        if by != "team":
            raise InputError("shared policy 'weights' splits by team weights; use it with --by team")
        w = {g: float(team_weights.get(g, 0.0)) for g in names}
        if sum(w.values()) <= 0:
            raise InputError(f"shared policy 'weights': no weight for any of {', '.join(sorted(names))}; set "
                             f"ALLOT_ALLOCATION__TEAM_WEIGHTS, e.g. '{{\"{names[0]}\": 1}}'")
        return {g: v / sum(w.values()) for g, v in w.items()}
    total = sum(groups[g] for g in names)
    if total <= 0:
        return {g: 1 / len(names) for g in names}
    return {g: groups[g] / total for g in names}


def _split(rows: list[tuple], by: str, policy: SharedPolicy, team_weights: dict[str, float]) -> dict[str, dict]:
    """Direct, shared and idle per group (plus residual rows) from grouped allocation rows."""
    out: dict[str, dict] = defaultdict(lambda: {"direct": 0.0, "shared": 0.0, "idle": 0.0, "kind": "group"})
    direct_pool: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    idle_pool: dict[str, float] = defaultdict(float)
    shared = 0.0
    for bucket, _ns, _kind, name, pool, grp, _day, cost in rows:
        if bucket == "workload":
            key = grp or MISSING[by]
            out[key]["direct"] += cost
            direct_pool[pool][key] += cost
        elif bucket == "idle":
            idle_pool[pool] += cost
        elif bucket == "shared":
            shared += cost
        else:
            key = name if bucket in ("unowned_storage", "unallocated") else f"external:{name}"
            out[key]["direct"] += cost
            out[key]["kind"] = "residual"
    if policy == "none":
        if idle_pool:
            out[IDLE_ROW].update(direct=sum(idle_pool.values()), kind="residual")
        if shared:
            out[SHARED_ROW].update(direct=shared, kind="residual")
        return dict(out)
    for pool, cost in idle_pool.items():
        users = {g: c for g, c in direct_pool.get(pool, {}).items() if c > 0}
        if not users:
            out[IDLE_ROW]["idle"] += cost
            out[IDLE_ROW]["kind"] = "residual"
            continue
        total = sum(users.values())
        for g, c in users.items():
            out[g]["idle"] += cost * c / total
    if shared:
        groups = {g: v["direct"] for g, v in out.items() if v["kind"] == "group"}
        weights = _weights(groups, policy, team_weights, by)
        if not weights:
            out[SHARED_ROW].update(shared=shared, kind="residual")
        for g, w in weights.items():
            out[g]["shared"] += shared * w
    return dict(out)


def _fetch(ctx: Context, by: str, w: Window, cluster: str | None) -> list[tuple]:
    return ctx.db.execute(_SQL, [by, w.start, w.end, cluster, cluster]).fetchall()


def owner_report(ctx: Context, args: ReportInput) -> OwnerReport:
    """Cost per owner, team, namespace or cost center for a window, with shared cost and idle split.

    Direct cost is the workloads' own cost; idle is each node pool's idle split by the groups'
    direct cost in that pool; shared platform cost is split by the named policy. Also returns
    the trend against the previous window of the same length, daily cost per group, the top
    movers, label coverage (share of cost carrying owner, team, service, env, cost_center,
    workload_type, and the top unlabelled workloads) and AI workload cost against core cost.

    Args:
        ctx: Warehouse context.
        args: Grouping key, window, optional cluster, shared-cost policy.

    Returns:
        The report; status no_data (with the reason) when the window holds no allocated cost.
    """
    window = parse_window(ctx, args.window, cluster=args.cluster)
    length = window.end - window.start
    previous = Window(start=window.start - length, end=window.start, label="")
    report = OwnerReport(status="ok", by=args.by, cluster=args.cluster, window=window, previous_window=previous,
                         shared_policy=args.shared_policy)
    rows = _fetch(ctx, args.by, window, args.cluster)
    if not rows:
        report.status = "no_data"
        report.reason = (f"no allocated cost in {window.describe()}"
                         f"{' for cluster ' + repr(args.cluster) if args.cluster else ''}; run `allot allocate` "
                         f"after an ingest, or pick a window with data")
        return report
    weights = ctx.settings.allocation.team_weights
    now = _split(rows, args.by, args.shared_policy, weights)
    prev_rows = _fetch(ctx, args.by, previous, args.cluster)
    before = _split(prev_rows, args.by, args.shared_policy, weights) if prev_rows else None

    for key, v in now.items():
        total = v["direct"] + v["shared"] + v["idle"]
        prev = None
        if before is not None:
            p = before.get(key)
            prev = (p["direct"] + p["shared"] + p["idle"]) if p else 0.0
        change = None if prev is None else total - prev
        pct = None if prev in (None, 0.0) else 100.0 * change / prev
        report.rows.append(ReportRow(key=key, kind=v["kind"], direct=v["direct"], shared=v["shared"], idle=v["idle"],
                                     total=total, previous_total=prev, change=change, change_pct=pct))
    if before is not None:  # groups that had cost before and none now are movers too
        for key, p in before.items():
            if key not in now:
                prev = p["direct"] + p["shared"] + p["idle"]
                report.rows.append(ReportRow(key=key, kind=p["kind"], direct=0.0, shared=0.0, idle=0.0, total=0.0,
                                             previous_total=prev, change=-prev, change_pct=-100.0 if prev else None))
    report.rows.sort(key=lambda r: (r.kind != "group", -r.total, r.key))
    report.total = sum(r.total for r in report.rows)
    report.direct_total = sum(r.direct for r in report.rows)
    report.shared_total = sum(r.shared for r in report.rows)
    report.idle_total = sum(r.idle for r in report.rows)
    report.previous_total = sum(c for *_, c in prev_rows) if prev_rows else None
    report.currency = _currency(ctx)
    report.policy_text = _policy_text(args.shared_policy)
    report.idle_policy_text = ("idle of each node pool split over the groups in proportion to their direct cost "
                               "in that pool" if args.shared_policy != "none" else "idle kept as its own row")
    movers = [r for r in report.rows if r.change is not None and abs(r.change) >= 0.005]
    report.top_movers = sorted(movers, key=lambda r: -abs(r.change or 0.0))[: args.top]
    report.daily = _daily(rows, args.by, args.shared_policy, weights, report.rows)
    report.coverage = label_coverage(ctx, window, args.cluster, args.top)
    report.ai = ai_split(ctx, window, previous, args.cluster)
    return report


def _policy_text(policy: SharedPolicy) -> str:
    return {
        "proportional": "shared platform cost split in proportion to each group's direct cost",
        "even": "shared platform cost split evenly over the groups",
        "weights": "shared platform cost split by fixed team weights (settings.allocation.team_weights)",
        "none": "shared platform cost kept as its own row (not distributed)",
    }[policy]


def _currency(ctx: Context) -> str:
    row = ctx.db.execute("SELECT min(billing_currency) FROM billing_rows").fetchone()
    return row[0] if row and row[0] else "USD"


def _daily(rows: list[tuple], by: str, policy: SharedPolicy, team_weights: dict[str, float],
           report_rows: list[ReportRow], top: int = 5) -> list[DailyPoint]:
    """Cost per day and group, split the same way as the table (direct + shared + idle); the top
    groups by total keep their name, everything else is 'other'."""
    ranked = [r.key for r in report_rows if r.kind == "group"][:top]
    by_day: dict = defaultdict(list)
    for row in rows:
        by_day[row[6]].append(row)
    points = []
    for day in sorted(by_day):
        costs: dict[str, float] = defaultdict(float)
        for key, v in _split(by_day[day], by, policy, team_weights).items():
            costs[key if key in ranked else "other"] += v["direct"] + v["shared"] + v["idle"]
        points.append(DailyPoint(day=day.date().isoformat(), costs=dict(costs)))
    return points
