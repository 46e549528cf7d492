"""Trace/log volume: observability cost per namespace and its week-over-week growth.

Compares the last 7 days of the window with the 7 days before them (read even when they lie
before a shorter window's start; a namespace with no logs that week is not judged).
A namespace whose log bytes (``namespace_log_hours``) grew by ``log_growth_min_share`` or more,
logging at least ``log_min_gib_per_week`` now, is flagged. Cost: the namespace's allocated
observability cost per week; where allocation kept logging shared, its log bytes x the
cluster's observability dollars per byte. Savings = this week's cost - last week's, per hour
x 730: bringing the volume back to last week's level.
"""

from __future__ import annotations

from datetime import timedelta

from tools.detectors.finding import Change, Finding, ObjectRef, Point, Series
from tools.detectors.owners import OwnerLookup
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import GIB, HOURS_PER_MONTH

NAME = "log_volume_growth"
WEEK = timedelta(days=7)


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    mid = scope.window.end - WEEK
    start = mid - WEEK
    weeks = [start, scope.window.end, scope.cluster, scope.cluster]
    rows = scope.rows(
        f"""
        WITH logs AS (
            SELECT cluster, namespace, sum(log_bytes) FILTER (WHERE hour >= ?) AS cur_bytes,
                   sum(log_bytes) FILTER (WHERE hour < ?) AS prev_bytes,
                   list(struct_pack(day := date_trunc('day', hour), b := log_bytes)) AS points
            FROM namespace_log_hours WHERE {scope.where()} GROUP BY ALL
        ), obs AS (
            SELECT cluster, namespace, sum(observability_cost) FILTER (WHERE hour >= ?) AS cur_cost,
                   sum(observability_cost) FILTER (WHERE hour < ?) AS prev_cost
            FROM allocation_hours WHERE {scope.where()} GROUP BY ALL
        ), cluster_rate AS (
            SELECT o.cluster, sum(o.cost) / nullif(any_value(l.bytes), 0) AS per_byte
            FROM (SELECT cluster, sum(observability_cost) AS cost FROM allocation_hours
                  WHERE {scope.where()} GROUP BY ALL) o
            JOIN (SELECT cluster, sum(log_bytes) AS bytes FROM namespace_log_hours
                  WHERE {scope.where()} GROUP BY ALL) l USING (cluster)
            GROUP BY ALL
        )
        SELECT l.*, o.cur_cost, o.prev_cost, r.per_byte FROM logs l
        LEFT JOIN obs o USING (cluster, namespace) LEFT JOIN cluster_rate r USING (cluster)
        ORDER BY ALL""",
        [mid, mid] + weeks + [mid, mid] + weeks + weeks * 2,
    )
    for r in rows:
        cur, prev = r["cur_bytes"] or 0.0, r["prev_bytes"] or 0.0
        if cur / GIB < s.log_min_gib_per_week or prev <= 0 or cur / prev - 1 < s.log_growth_min_share:
            continue
        lacked = []
        if r["cur_cost"]:
            cur_cost, prev_cost = r["cur_cost"], r["prev_cost"] or 0.0
            pricing = "namespace's allocated observability cost, this week - last week, per hour x 730 h"
        elif r["per_byte"]:
            cur_cost, prev_cost = cur * r["per_byte"], prev * r["per_byte"]
            pricing = "log bytes x the cluster's observability $/byte, this week - last week, per hour x 730 h"
            lacked.append("observability cost allocated to the namespace (cluster $/byte used)")
        else:
            cur_cost = prev_cost = None
            pricing = ""
            lacked.append("observability cost on the bill")
        savings = None if cur_cost is None else round((cur_cost - prev_cost) / WEEK.total_seconds() * 3600
                                                      * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        daily: dict = {}
        for p in r["points"]:
            daily[p["day"]] = daily.get(p["day"], 0.0) + p["b"] / GIB
        ev = scope.evidence(current_week_gib=round(cur / GIB, 3), previous_week_gib=round(prev / GIB, 3),
                            growth_share=round(cur / prev - 1, 4), current_week_cost=cur_cost,
                            previous_week_cost=prev_cost, current_week_start=mid.isoformat())
        ev.series.append(Series(name="log volume per day", unit="GiB",
                                points=[Point(t=d, v=round(v, 3)) for d, v in sorted(daily.items())]))
        out.findings.append(Finding(
            detector=NAME,
            object=ObjectRef(cluster=r["cluster"], namespace=r["namespace"], kind="Namespace", name=r["namespace"]),
            owner=owners.namespace(r["cluster"], r["namespace"]), evidence=ev,
            title=f"Log volume in {r['namespace']} grew {cur / prev - 1:.0%} week over week "
                  f"({prev / GIB:,.1f} -> {cur / GIB:,.1f} GiB)",
            thresholds={"min_growth_share": s.log_growth_min_share, "min_gib_per_week": s.log_min_gib_per_week},
            action=f"find what started logging more in {r['namespace']} (debug level, per-request traces) and "
                   "bring it back to last week's volume or sample it",
            changes=[Change(field="log volume (GiB/week)", current=round(cur / GIB, 2), recommended=round(prev / GIB, 2))],
            monthly_savings=savings, pricing=pricing,
            confidence="high" if not lacked else "medium", lacked=lacked,
        ))
    return out
