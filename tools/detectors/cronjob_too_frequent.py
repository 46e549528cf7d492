"""CronJobs that run too often for the work each run does, and overlapping runs.

Runs per day come from the schedule (``workload_spec_hours`` field ``schedule``, else the
CronJob object) and, when the schedule is unknown, from the Job runs seen in the window. A
CronJob is too frequent when it runs more than ``cronjob_max_runs_per_day`` and its runs
last under ``cronjob_short_run_seconds`` on average (little work per run). The recommended
schedule runs ``cronjob_max_runs_per_day`` times a day. Savings = the CronJob's allocated cost
per hour x (1 - recommended runs / current runs) x 730.

Runs that start before the previous run completed, under ``concurrencyPolicy: Allow``, are
flagged too (recommendation: ``Forbid``); they save the overlapping runs' share of the cost.
"""

from __future__ import annotations

from tools.detectors.cron_schedule import runs_per_day
from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.owners import OwnerLookup
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "cronjob_too_frequent"


def _cronjobs(scope: Scope) -> list[dict]:
    return scope.rows(
        f"""
        WITH spec AS (
            SELECT cluster, namespace, name AS cronjob,
                   arg_max(value, hour) FILTER (WHERE field = 'schedule') AS schedule,
                   arg_max(value, hour) FILTER (WHERE field = 'concurrency_policy') AS policy
            FROM workload_spec_hours WHERE kind = 'CronJob' AND {scope.where()} GROUP BY ALL
        ), obj AS (
            SELECT cluster, namespace, name AS cronjob, raw->>'$.spec.schedule' AS schedule,
                   raw->>'$.spec.concurrencyPolicy' AS policy
            FROM k8s_objects WHERE kind = 'CronJob' AND (CAST(? AS VARCHAR) IS NULL OR cluster = ?)
        ), runs AS (
            SELECT cluster, namespace, cronjob, count(*) AS runs,
                   avg(epoch(completion_time) - epoch(start_time)) AS avg_seconds,
                   sum(coalesce(succeeded, 0)) AS succeeded, sum(coalesce(failed, 0)) AS failed,
                   min(coalesce(start_time, created_at)) AS first_run, max(coalesce(start_time, created_at)) AS last_run
            FROM job_runs WHERE cronjob IS NOT NULL AND {scope.where(time_col='coalesce(start_time, created_at)')}
            GROUP BY ALL
        ), overlap_runs AS (
            SELECT cluster, namespace, cronjob, count(*) FILTER (WHERE start_time < prev_end) AS overlapping
            FROM (SELECT *, max(completion_time) OVER (PARTITION BY cluster, namespace, cronjob ORDER BY start_time
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
                  FROM job_runs WHERE cronjob IS NOT NULL
                   AND {scope.where(time_col='coalesce(start_time, created_at)')})
            GROUP BY ALL
        ), cost AS (
            SELECT cluster, namespace, workload_name AS cronjob, sum(cost) AS cost,
                   min(hour) AS first_hour, max(hour) AS last_hour
            FROM allocation_hours WHERE bucket = 'workload' AND workload_kind = 'CronJob' AND {scope.where()}
            GROUP BY ALL
        ), names AS (
            SELECT cluster, namespace, cronjob FROM spec UNION SELECT cluster, namespace, cronjob FROM runs
            UNION SELECT cluster, namespace, cronjob FROM obj
        )
        SELECT n.cluster, n.namespace, n.cronjob, coalesce(s.schedule, o.schedule) AS schedule,
               coalesce(s.policy, o.policy, 'Allow') AS policy, r.runs, r.avg_seconds, r.succeeded, r.failed,
               r.first_run, r.last_run, coalesce(v.overlapping, 0) AS overlapping, c.cost,
               epoch(c.last_hour) / 3600 - epoch(c.first_hour) / 3600 + 1 AS cost_hours
        FROM names n LEFT JOIN spec s USING (cluster, namespace, cronjob)
        LEFT JOIN obj o USING (cluster, namespace, cronjob) LEFT JOIN runs r USING (cluster, namespace, cronjob)
        LEFT JOIN overlap_runs v USING (cluster, namespace, cronjob) LEFT JOIN cost c USING (cluster, namespace, cronjob)
        ORDER BY ALL""",
        scope.params() + [scope.cluster, scope.cluster] + scope.params() * 3,
    )


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    thresholds = {"max_runs_per_day": s.cronjob_max_runs_per_day, "short_run_seconds": s.cronjob_short_run_seconds}
    for r in _cronjobs(scope):
        obj = ObjectRef(cluster=r["cluster"], namespace=r["namespace"], kind="CronJob", name=r["cronjob"])
        lacked: list[str] = []
        per_day = runs_per_day(r["schedule"]) if r["schedule"] else None
        if per_day is None and r["runs"]:
            lacked.append("the CronJob's schedule (runs per day counted from Job history)")
            span_days = max(1.0, (r["last_run"] - r["first_run"]).total_seconds() / 86400)
            per_day = r["runs"] / span_days
        if per_day is None:
            continue
        if r["avg_seconds"] is None:
            lacked.append("run durations (Job start/completion times)")
        too_often = per_day > s.cronjob_max_runs_per_day and (
            r["avg_seconds"] is None or r["avg_seconds"] < s.cronjob_short_run_seconds)
        overlap = r["overlapping"] > 0 and r["policy"] == "Allow"
        if not (too_often or overlap):
            continue
        cost_per_hour = r["cost"] / r["cost_hours"] if r["cost"] is not None and r["cost_hours"] else None
        share = 0.0
        changes = []
        if too_often:
            share = 1 - s.cronjob_max_runs_per_day / per_day
            every = round(1440 / s.cronjob_max_runs_per_day)
            changes.append(Change(field="spec.schedule", current=r["schedule"], recommended=f"*/{every} * * * *"))
        if overlap:
            share = max(share, r["overlapping"] / r["runs"])
            changes.append(Change(field="spec.concurrencyPolicy", current=r["policy"], recommended="Forbid"))
        if cost_per_hour is None:
            lacked.append("allocated cost for this CronJob")
        savings = None if cost_per_hour is None else round(cost_per_hour * share * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        success = (r["succeeded"] / (r["succeeded"] + r["failed"])
                   if r["runs"] and (r["succeeded"] + r["failed"]) else None)
        title = (f"CronJob {r['namespace']}/{r['cronjob']} runs {per_day:,.0f} times a day"
                 + (f" for {r['avg_seconds']:.0f}s of work each" if r["avg_seconds"] is not None else "")
                 if too_often else
                 f"CronJob {r['namespace']}/{r['cronjob']} starts runs before the previous one finished")
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owners.workload(r["cluster"], r["namespace"], "CronJob", r["cronjob"]),
            evidence=scope.evidence(schedule=r["schedule"], runs_per_day=round(per_day, 2), runs_in_window=r["runs"],
                                    avg_run_seconds=r["avg_seconds"], success_share=success,
                                    overlapping_runs=r["overlapping"], concurrency_policy=r["policy"],
                                    allocated_cost=r["cost"], cost_per_hour=cost_per_hour),
            title=title, thresholds=thresholds,
            action="; ".join(f"set {c.field} from {c.current!r} to {c.recommended!r}" for c in changes),
            changes=changes, monthly_savings=savings,
            pricing="allocated cost per hour x share of runs removed x 730 h",
            confidence="high" if not lacked else "medium", lacked=lacked,
        ))
    return out
