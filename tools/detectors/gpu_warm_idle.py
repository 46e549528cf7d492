"""GPU nodes kept warm for sporadic work.

Per GPU node pool (nodes with allocatable GPUs), a node-hour is *busy* when any of its GPUs
shows engine activity above ``gpu_active_threshold`` in ``node_gpu_hours`` (DCGM
GR_ENGINE_ACTIVE, or GPU_UTIL). A cluster without DCGM series is judged by GPU requests
instead (a node-hour is busy when pods requested a GPU on it), and the finding says so. A pool
busy for less than ``gpu_busy_share`` of its billed node-hours is flagged; savings = its idle
node-hours x the pool's allocated compute cost per node-hour, per window hour x 730
(scaling the pool to zero between bursts).
"""

from __future__ import annotations

from tools.detectors.finding import Change, Finding, ObjectRef, Point, Series
from tools.detectors.pricing import pool_prices
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "gpu_warm_idle"


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    prices = pool_prices(scope)
    rows = scope.rows(
        f"""
        WITH gpu_nh AS (
            SELECT h.cluster, h.node, h.hour, n.node_pool, n.capacity_type
            FROM node_hours h JOIN nodes n USING (cluster, node)
            WHERE h.gpu_allocatable > 0 AND {scope.where('h')}
        ), dcgm AS (
            SELECT cluster, node, hour, max(active) AS active FROM node_gpu_hours WHERE {scope.where()} GROUP BY ALL
        ), dcgm_clusters AS (SELECT DISTINCT cluster FROM dcgm),
        req AS (
            SELECT cluster, node, hour, sum(gpu_request * fraction) AS gpus FROM pod_hours
            WHERE gpu_request > 0 AND {scope.where()} GROUP BY ALL
        )
        SELECT g.cluster, g.node_pool, any_value(g.capacity_type) AS capacity_type,
               count(*) AS node_hours, count(DISTINCT g.node) AS nodes,
               bool_or(dc.cluster IS NOT NULL) AS has_dcgm,
               count(*) FILTER (WHERE CASE WHEN dc.cluster IS NOT NULL THEN coalesce(d.active, 0) > ?
                                           ELSE coalesce(r.gpus, 0) > 0 END) AS busy_node_hours,
               list(struct_pack(day := date_trunc('day', g.hour),
                    busy := CASE WHEN dc.cluster IS NOT NULL THEN coalesce(d.active, 0) > ?
                                 ELSE coalesce(r.gpus, 0) > 0 END)) AS hours
        FROM gpu_nh g LEFT JOIN dcgm_clusters dc ON dc.cluster = g.cluster
        LEFT JOIN dcgm d ON d.cluster = g.cluster AND d.node = g.node AND d.hour = g.hour
        LEFT JOIN req r ON r.cluster = g.cluster AND r.node = g.node AND r.hour = g.hour
        GROUP BY g.cluster, g.node_pool ORDER BY ALL""",
        scope.params() + scope.params() + scope.params() + [s.gpu_active_threshold, s.gpu_active_threshold],
    )
    for r in rows:
        busy_share = r["busy_node_hours"] / r["node_hours"]
        if busy_share >= s.gpu_busy_share:
            continue
        price = prices.get((r["cluster"], r["node_pool"]))
        per_node = price.per_node_hour if price else None
        idle = r["node_hours"] - r["busy_node_hours"]
        lacked = [] if r["has_dcgm"] else ["DCGM GPU activity (busy hours judged by GPU requests instead)"]
        if per_node is None:
            lacked.append("allocated cost for the node pool")
        savings = None if per_node is None else round(idle * per_node / scope.hours * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        daily: dict = {}
        for h in r["hours"]:
            daily[h["day"]] = daily.get(h["day"], 0) + (1 if h["busy"] else 0)
        ev = scope.evidence(gpu_node_hours=r["node_hours"], busy_node_hours=r["busy_node_hours"],
                            busy_share=round(busy_share, 4), nodes=r["nodes"], capacity_type=r["capacity_type"],
                            activity_source="DCGM" if r["has_dcgm"] else "GPU requests",
                            cost_per_node_hour=per_node)
        ev.series.append(Series(name="busy GPU node-hours per day", unit="node-hours",
                                points=[Point(t=d, v=v) for d, v in sorted(daily.items())]))
        out.findings.append(Finding(
            detector=NAME, object=ObjectRef(cluster=r["cluster"], kind="NodePool", name=r["node_pool"]),
            evidence=ev,
            title=f"GPU pool {r['cluster']}/{r['node_pool']} is busy {busy_share:.0%} of its "
                  f"{r['node_hours']} node-hours" + ("" if r["has_dcgm"] else " (by GPU requests; no DCGM)"),
            thresholds={"gpu_active_threshold": s.gpu_active_threshold, "gpu_busy_share": s.gpu_busy_share},
            action=f"let node pool {r['node_pool']} scale to zero between GPU jobs (autoscaling min 0) "
                   "and batch the sporadic work",
            changes=[Change(field="autoscaling.min_nodes", current=r["nodes"], recommended=0)],
            monthly_savings=savings,
            pricing="idle GPU node-hours x pool's allocated compute cost per node-hour, per window hour x 730 h",
            confidence="high" if not lacked else "medium", lacked=lacked,
        ))
    return out
