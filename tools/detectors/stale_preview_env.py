"""Old preview environments: preview/PR namespaces past their TTL with no recent deploy.

A namespace matching one of ``preview_patterns`` (regular expressions) that still exists at
the window's end, was created more than ``preview_ttl_days`` before it, and had no deploy in
that TTL (no Deployment, ReplicaSet, StatefulSet, DaemonSet, Job or CronJob created, from the
snapshot objects and the workloads table) is stale. Savings = the namespace's allocated cost
per hour over the last TTL days x 730 (deleting the namespace removes all of it).
"""

from __future__ import annotations

import re
from datetime import timedelta

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.owners import OwnerLookup
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "stale_preview_env"
DEPLOY_KINDS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob")


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    patterns = [re.compile(p) for p in s.preview_patterns]
    end = scope.window.end
    ttl_start = max(scope.window.start, end - timedelta(days=s.preview_ttl_days))
    ttl_hours = (end - ttl_start).total_seconds() / 3600
    cond, cparams = scope.cluster_only("n")
    rows = scope.rows(
        f"""
        WITH ns AS (
            SELECT n.cluster, n.namespace, n.created_at, n.deleted_at FROM namespaces n
            WHERE {cond} AND (n.deleted_at IS NULL OR n.deleted_at >= ?)
        ), first_seen AS (
            SELECT cluster, namespace, min(hour) AS first_hour FROM pod_hours GROUP BY ALL
        ), deploys AS (
            SELECT cluster, namespace, max(created_at) AS last_deploy FROM (
                SELECT cluster, namespace, created_at FROM k8s_objects WHERE kind IN {DEPLOY_KINDS}
                  AND NOT (kind = 'Job' AND owner_kind = 'CronJob')
                UNION ALL SELECT cluster, namespace, created_at FROM workloads WHERE kind <> 'Pod'
            ) WHERE created_at < ? GROUP BY ALL
        ), cost AS (
            SELECT cluster, namespace, sum(cost) AS cost FROM allocation_hours
            WHERE bucket IN ('workload', 'unowned_storage') AND {scope.where()} AND hour >= ? GROUP BY ALL
        )
        SELECT ns.cluster, ns.namespace, coalesce(ns.created_at, f.first_hour) AS created_at,
               ns.created_at IS NULL AS created_unknown, d.last_deploy, c.cost
        FROM ns LEFT JOIN first_seen f USING (cluster, namespace) LEFT JOIN deploys d USING (cluster, namespace)
        LEFT JOIN cost c USING (cluster, namespace)
        ORDER BY ALL""",
        cparams + [end, end] + scope.params(ttl_start),
    )
    thresholds = {"preview_patterns": s.preview_patterns, "preview_ttl_days": s.preview_ttl_days}
    for r in rows:
        if not any(p.search(r["namespace"]) for p in patterns) or r["created_at"] is None:
            continue
        age_days = (end - r["created_at"]).total_seconds() / 86400
        last = r["last_deploy"] or r["created_at"]
        idle_days = (end - last).total_seconds() / 86400
        if age_days < s.preview_ttl_days or idle_days < s.preview_ttl_days:
            continue
        lacked = ["namespace creation time (first pod-hour used)"] if r["created_unknown"] else []
        if r["last_deploy"] is None:
            lacked.append("deploy history (no controller objects seen; creation time used)")
        savings = None if r["cost"] is None else round(r["cost"] / ttl_hours * HOURS_PER_MONTH, 2)
        if r["cost"] is None:
            lacked.append("allocated cost for the namespace")
        if savings is not None and savings < s.min_monthly_savings:
            continue
        obj = ObjectRef(cluster=r["cluster"], namespace=r["namespace"], kind="Namespace", name=r["namespace"])
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owners.namespace(r["cluster"], r["namespace"]),
            evidence=scope.evidence(created_at=r["created_at"].isoformat(), age_days=round(age_days, 1),
                                    last_deploy=last.isoformat(), days_since_deploy=round(idle_days, 1),
                                    allocated_cost_last_ttl=r["cost"]),
            title=f"Preview namespace {r['namespace']} is {age_days:.0f} days old, last deploy {idle_days:.0f} days ago",
            thresholds=thresholds,
            action=f"delete namespace {r['namespace']} (kubectl delete namespace {r['namespace']}) or add a TTL "
                   f"to the preview pipeline",
            changes=[Change(field="namespace", current="present", recommended="deleted")],
            monthly_savings=savings, pricing="namespace's allocated cost per hour over the last TTL days x 730 h",
            confidence="high" if not lacked else "medium", lacked=lacked,
        ))
    return out
