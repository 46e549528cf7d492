"""Jobs that retry endlessly: failures piling up with no success, and what the failed attempts cost.

A Job (or a CronJob, over all its Jobs in the window) is flagged when its Jobs have at least
``job_min_failures`` failed pods and none succeeded. Evidence: failures, backoffLimit, pods
created, active pods. The cost of failed attempts is the allocated cost of the Job's pod-hours
in the window (each pod-hour priced at its workload's allocated cost per pod-hour) x the
failed share of its pods; savings = that cost per window hour x 730 (the loop keeps going until
someone fixes it or lowers backoffLimit).
"""

from __future__ import annotations

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.owners import OwnerLookup
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "job_retry_loop"


def _jobs(scope: Scope) -> list[dict]:
    """Jobs and CronJobs with ``job_min_failures`` failed pods and no success in the window, and
    what their pods cost. The failures are counted first, so only those objects' pods are priced
    (tier M: 146k Jobs a cluster, a few of them failing)."""
    return scope.rows(
        f"""
        WITH all_jobs AS (
            SELECT *, CASE WHEN cronjob IS NULL THEN 'Job' ELSE 'CronJob' END AS obj_kind,
                   coalesce(cronjob, job) AS obj_name
            FROM job_runs
            WHERE (CAST(? AS VARCHAR) IS NULL OR cluster = ?)
              AND coalesce(start_time, created_at, ?) < ?
              AND (completion_time IS NULL OR completion_time >= ? OR coalesce(active, 0) > 0)
        ), failing AS (
            SELECT cluster, namespace, obj_kind, obj_name FROM all_jobs GROUP BY ALL
            HAVING sum(coalesce(failed, 0)) >= ? AND sum(coalesce(succeeded, 0)) = 0
        ), jobs AS (
            SELECT * FROM all_jobs SEMI JOIN failing USING (cluster, namespace, obj_kind, obj_name)
        ), pod_cost AS (
            SELECT p.cluster, p.namespace, p.owner_name AS job, count(DISTINCT p.pod) AS pods,
                   sum(h.fraction) AS pod_hours,
                   sum(h.fraction * a.cost / nullif(a.pod_hours, 0)) AS cost
            FROM pods p SEMI JOIN jobs j ON j.cluster = p.cluster AND j.namespace = p.namespace AND j.job = p.owner_name
            JOIN pod_hours h ON h.cluster = p.cluster AND h.namespace = p.namespace AND h.pod = p.pod
            LEFT JOIN (SELECT cluster, namespace, workload_kind, workload_name, sum(cost) AS cost,
                              sum(pod_hours) AS pod_hours
                       FROM allocation_hours WHERE bucket = 'workload' AND {scope.where()} GROUP BY ALL) a
              ON a.cluster = p.cluster AND a.namespace = p.namespace AND a.workload_kind = p.workload_kind
             AND a.workload_name = p.workload_name
            WHERE p.owner_kind = 'Job' AND {scope.where('h')}
            GROUP BY ALL
        )
        SELECT j.cluster, j.namespace, j.obj_kind, j.obj_name, count(*) AS jobs,
               sum(coalesce(j.failed, 0)) AS failed, sum(coalesce(j.succeeded, 0)) AS succeeded,
               sum(coalesce(j.active, 0)) AS active, max(j.backoff_limit) AS backoff_limit,
               sum(coalesce(c.pods, 0)) AS pods_created, sum(c.pod_hours) AS pod_hours,
               sum(c.cost) AS cost, bool_or(c.cost IS NULL AND c.pods IS NOT NULL) AS unpriced,
               list(j.job ORDER BY j.job) AS job_names
        FROM jobs j LEFT JOIN pod_cost c ON c.cluster = j.cluster AND c.namespace = j.namespace AND c.job = j.job
        GROUP BY ALL ORDER BY ALL""",
        [scope.cluster, scope.cluster, scope.window.start, scope.window.end, scope.window.start,
         scope.settings.job_min_failures] + scope.params() + scope.params(),
    )


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    for r in _jobs(scope):   # only objects with enough failures and no success
        obj = ObjectRef(cluster=r["cluster"], namespace=r["namespace"], kind=r["obj_kind"], name=r["obj_name"])
        attempts = max(r["failed"] + r["succeeded"] + r["active"], r["pods_created"])
        failed_share = r["failed"] / attempts if attempts else 1.0
        lacked = []
        if r["pod_hours"] is None:
            lacked.append("pod-hours of the Job's pods")
        if r["cost"] is None or r["unpriced"]:
            lacked.append("allocated cost of the Job's pods")
        failed_cost = None if r["cost"] is None else r["cost"] * failed_share
        savings = None if failed_cost is None else round(failed_cost / scope.hours * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        limit = r["backoff_limit"]
        changes = [Change(field="spec.backoffLimit", current=limit, recommended=min(limit or 6, 3))]
        if r["active"]:
            changes.append(Change(field="spec.suspend", current=False, recommended=True))
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owners.workload(obj.cluster, obj.namespace, obj.kind, obj.name),
            evidence=scope.evidence(jobs=r["jobs"], job_names=", ".join(r["job_names"][:5]), failed=r["failed"],
                                    succeeded=r["succeeded"], active=r["active"], backoff_limit=limit,
                                    pods_created=r["pods_created"], pod_hours=r["pod_hours"],
                                    cost_of_failed_attempts=failed_cost),
            title=f"{obj.kind} {obj.namespace}/{obj.name} failed {r['failed']} times with no success"
                  + (" and is still retrying" if r["active"] else ""),
            thresholds={"min_failures": s.job_min_failures},
            action=f"stop the retry loop of {obj.kind} {obj.name}: fix the failing command, "
                   f"then lower backoffLimit" + (" and suspend it until fixed" if r["active"] else ""),
            changes=changes, monthly_savings=savings,
            pricing="allocated cost of the Job's pod-hours x failed share of pods, per window hour x 730 h",
            confidence="high" if not lacked else "medium", lacked=lacked,
        ))
    return out
