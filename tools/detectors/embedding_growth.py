"""Embedding pipelines and databases: storage that keeps growing, per namespace, and its cost trend.

Per namespace, the hourly sum of ``volume_hours.used_bytes`` over its PVCs is fitted with a
least-squares line (``regr_slope``); the PVC growing fastest is named in the evidence (the
one to add retention to). A namespace growing at least
``volume_growth_min_gib_per_week`` and ``volume_growth_min_share_per_week`` of its starting
size a week is flagged. Its monthly cost trend = GiB added per month (730 h) x the allocated
storage $/GiB-hour (the namespace's storage cost / its provisioned GiB-hours, else the
cluster's) x 730: the cost each month of growth adds, which retention or deduplication avoids.
"""

from __future__ import annotations

from tools.detectors.finding import Change, Finding, ObjectRef, Point, Series
from tools.detectors.owners import OwnerLookup
from tools.detectors.pricing import storage_price_per_gib_hour
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import GIB, HOURS_PER_MONTH

NAME = "embedding_growth"


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    cluster_price = storage_price_per_gib_hour(scope)
    rows = scope.rows(
        f"""
        WITH per_hour AS (
            SELECT cluster, namespace, hour, sum(used_bytes) AS used, sum(capacity_bytes) AS capacity,
                   count(DISTINCT pvc) AS pvcs
            FROM volume_hours WHERE used_bytes IS NOT NULL AND {scope.where()} GROUP BY ALL
        ), fit AS (
            SELECT cluster, namespace, regr_slope(used, epoch(hour) / 3600.0) AS bytes_per_hour,
                   arg_min(used, hour) AS first_used, arg_max(used, hour) AS last_used,
                   sum(capacity) / 1073741824.0 AS capacity_gib_hours, count(*) AS hours, max(pvcs) AS pvcs,
                   list(struct_pack(day := date_trunc('day', hour), used := used) ORDER BY hour) AS points
            FROM per_hour GROUP BY ALL
        ), pvc_fit AS (
            SELECT cluster, namespace, pvc, regr_slope(used_bytes, epoch(hour) / 3600.0) AS bytes_per_hour
            FROM volume_hours WHERE used_bytes IS NOT NULL AND {scope.where()} GROUP BY ALL
        ), top_pvc AS (
            SELECT cluster, namespace, arg_max(pvc, bytes_per_hour) AS top_pvc,
                   max(bytes_per_hour) AS top_bytes_per_hour
            FROM pvc_fit GROUP BY ALL
        ), cost AS (
            SELECT cluster, namespace, sum(storage_cost) AS storage_cost FROM allocation_hours
            WHERE {scope.where()} GROUP BY ALL
        )
        SELECT f.*, t.top_pvc, t.top_bytes_per_hour, c.storage_cost
        FROM fit f LEFT JOIN top_pvc t USING (cluster, namespace) LEFT JOIN cost c USING (cluster, namespace)
        ORDER BY ALL""",
        scope.params() * 3,
    )
    thresholds = {"min_gib_per_week": s.volume_growth_min_gib_per_week,
                  "min_share_per_week": s.volume_growth_min_share_per_week}
    for r in rows:
        if r["hours"] < 24 or r["bytes_per_hour"] is None:
            continue
        gib_per_week = r["bytes_per_hour"] * 168 / GIB
        start_gib = max(r["first_used"] / GIB, 1e-9)
        if gib_per_week < s.volume_growth_min_gib_per_week or gib_per_week / start_gib < s.volume_growth_min_share_per_week:
            continue
        lacked = []
        if r["storage_cost"] and r["capacity_gib_hours"]:
            price = r["storage_cost"] / r["capacity_gib_hours"]
            pricing = "GiB added per month x the namespace's allocated storage $/GiB-hour x 730 h"
        else:
            price = cluster_price.get(r["cluster"])
            pricing = "GiB added per month x the cluster's allocated storage $/GiB-hour x 730 h"
            lacked.append("allocated storage cost for this namespace (cluster price used)")
        gib_per_month = r["bytes_per_hour"] * HOURS_PER_MONTH / GIB
        trend = None if price is None else round(gib_per_month * price * HOURS_PER_MONTH, 2)
        if price is None:
            lacked.append("a storage price")
        if trend is not None and trend < s.min_monthly_savings:
            continue
        daily: dict = {}
        for p in r["points"]:
            daily[p["day"]] = p["used"] / GIB
        ev = scope.evidence(gib_per_week=round(gib_per_week, 3), start_gib=round(r["first_used"] / GIB, 3),
                            end_gib=round(r["last_used"] / GIB, 3), pvcs=r["pvcs"],
                            fastest_pvc=r["top_pvc"],
                            fastest_pvc_gib_per_week=round((r["top_bytes_per_hour"] or 0.0) * 168 / GIB, 3),
                            storage_price_per_gib_hour=price, added_monthly_cost=trend)
        ev.series.append(Series(name="volume used at day end", unit="GiB",
                                points=[Point(t=d, v=round(v, 3)) for d, v in sorted(daily.items())]))
        out.findings.append(Finding(
            detector=NAME,
            object=ObjectRef(cluster=r["cluster"], namespace=r["namespace"], kind="Namespace", name=r["namespace"]),
            owner=owners.namespace(r["cluster"], r["namespace"]), evidence=ev,
            title=f"Volumes in {r['namespace']} grow {gib_per_week:,.1f} GiB a week "
                  f"({gib_per_week / start_gib:.0%} of their starting size)",
            thresholds=thresholds,
            action=f"add retention or deduplication to the pipeline writing to {r['namespace']}/{r['top_pvc']} "
                   "(e.g. expire stale embeddings, compact the index)",
            changes=[Change(field="storage growth (GiB/week)", current=round(gib_per_week, 2), recommended=0)],
            monthly_savings=trend, pricing=pricing,
            confidence="medium" if lacked else "high", lacked=lacked,
        ))
    return out
