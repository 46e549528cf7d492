"""Idle replicas: Deployments and StatefulSets that serve nothing, or run above what their HPA needed.

Rule 1 (idle): over the last ``idle_days`` of the window every pod-hour of the workload has a
CPU average at or below ``idle_cpu_cores`` and sends at most ``idle_network_bytes_per_hour``.
The workload must be present and measured in every hour of that stretch. Without a network
metric the finding says so and its confidence is low. Recommendation: scale to 0 (or delete);
savings = the workload's allocated cost per hour in the stretch x 730.

Rule 2 (above HPA): the fewest replicas running in any hour of the window exceed the most
replicas its HPA ever desired (``workload_spec_hours`` field ``hpa_desired``). Savings = the
excess replicas x the workload's allocated cost per pod-hour x 730.
"""

from __future__ import annotations

from datetime import timedelta

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.owners import OwnerLookup
from tools.detectors.pricing import workload_prices
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "idle_replicas"
KINDS = ("Deployment", "StatefulSet", "ReplicaSet")


def _idle(scope: Scope) -> tuple[list[dict], int]:
    s = scope.settings
    since = max(scope.window.start, scope.window.end - timedelta(days=s.idle_days))
    need_hours = int(round((scope.window.end - since).total_seconds() / 3600))
    return scope.rows(
        f"""
        WITH ph AS (
            SELECT * FROM pod_hours WHERE {scope.where()} AND hour >= ? AND workload_kind IN {KINDS}
        ), per_hour AS (
            SELECT cluster, namespace, workload_kind, workload_name, hour,
                   sum(fraction) AS replicas,
                   bool_and(cpu_usage IS NOT NULL) AS measured,
                   max(cpu_usage) AS cpu_max, max(network_tx_bytes) AS tx_max,
                   bool_and(network_tx_bytes IS NULL) AS no_net
            FROM ph GROUP BY ALL
        ), alloc AS (
            SELECT cluster, namespace, workload_kind, workload_name, sum(cost) AS cost
            FROM allocation_hours WHERE bucket = 'workload' AND {scope.where()} AND hour >= ? GROUP BY ALL
        )
        SELECT p.cluster, p.namespace, p.workload_kind, p.workload_name,
               count(*) AS hours, avg(replicas) AS replicas, max(cpu_max) AS cpu_max,
               max(tx_max) AS tx_max, bool_and(no_net) AS no_net, bool_and(measured) AS measured,
               any_value(a.cost) AS cost
        FROM per_hour p LEFT JOIN alloc a USING (cluster, namespace, workload_kind, workload_name)
        GROUP BY ALL
        HAVING count(*) >= {need_hours} AND bool_and(measured) AND max(cpu_max) <= ?
           AND (bool_and(no_net) OR max(tx_max) <= ?)
        ORDER BY ALL""",
        scope.params(since) + scope.params(since) + [s.idle_cpu_cores, s.idle_network_bytes_per_hour],
    ), need_hours


def _above_hpa(scope: Scope) -> list[dict]:
    return scope.rows(
        f"""
        WITH desired AS (
            SELECT w.cluster, w.namespace, h.target_kind AS workload_kind, h.target_name AS workload_name,
                   h.hpa, max(TRY_CAST(w.value AS DOUBLE)) AS max_desired
            FROM workload_spec_hours w JOIN hpas h
              ON h.cluster = w.cluster AND h.namespace = w.namespace
             AND ((w.kind = 'HorizontalPodAutoscaler' AND w.name = h.hpa)
                  OR (w.kind = h.target_kind AND w.name = h.target_name))
            WHERE w.field = 'hpa_desired' AND {scope.where('w')} GROUP BY ALL
        ), running AS (
            SELECT cluster, namespace, workload_kind, workload_name, hour, sum(fraction) AS replicas
            FROM pod_hours WHERE {scope.where()} GROUP BY ALL
        )
        SELECT d.cluster, d.namespace, d.workload_kind, d.workload_name, d.hpa, d.max_desired,
               min(r.replicas) AS min_running, avg(r.replicas) AS avg_running
        FROM desired d JOIN running r USING (cluster, namespace, workload_kind, workload_name)
        GROUP BY ALL HAVING min(r.replicas) >= d.max_desired + 1
        ORDER BY ALL""",
        scope.params() + scope.params(),
    )


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    owners = OwnerLookup(scope)
    prices = workload_prices(scope)
    idle_rows, need_hours = _idle(scope)
    thresholds = {"idle_days": s.idle_days, "idle_cpu_cores": s.idle_cpu_cores,
                  "idle_network_bytes_per_hour": s.idle_network_bytes_per_hour}
    flagged = set()
    for r in idle_rows:
        key = (r["cluster"], r["namespace"], r["workload_kind"], r["workload_name"])
        obj = ObjectRef(cluster=key[0], namespace=key[1], kind=key[2], name=key[3])
        lacked = ["network traffic (container_network_transmit_bytes_total)"] if r["no_net"] else []
        savings = None if r["cost"] is None else round(r["cost"] / need_hours * HOURS_PER_MONTH, 2)
        if r["cost"] is None:
            lacked.append("allocated cost for this workload")
        if savings is not None and savings < s.min_monthly_savings:
            continue
        replicas = round(r["replicas"], 2)
        flagged.add(key)
        out.findings.append(Finding(
            detector=NAME, object=obj, owner=owners.workload(*key),
            evidence=scope.evidence(idle_hours=r["hours"], avg_replicas=replicas, max_pod_cpu_cores=r["cpu_max"],
                                    max_pod_tx_bytes_per_hour=r["tx_max"], allocated_cost_idle_stretch=r["cost"]),
            title=f"{key[2]} {key[1]}/{key[3]}: {replicas:g} replicas idle for {s.idle_days:g} days",
            thresholds=thresholds,
            action=f"scale {key[2]} {key[3]} to 0 replicas (or delete it) after confirming with its owner",
            changes=[Change(field="spec.replicas", current=replicas, recommended=0)],
            monthly_savings=savings, pricing="allocated cost per hour over the idle stretch x 730 h",
            confidence="low" if r["no_net"] else "high", lacked=lacked,
        ))
    for r in _above_hpa(scope):
        key = (r["cluster"], r["namespace"], r["workload_kind"], r["workload_name"])
        if key in flagged:
            continue
        price = prices.get(key)
        excess = r["min_running"] - r["max_desired"]
        per_pod = price.cost_per_pod_hour if price else None
        savings = None if per_pod is None else round(excess * per_pod * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        out.findings.append(Finding(
            detector=NAME, object=ObjectRef(cluster=key[0], namespace=key[1], kind=key[2], name=key[3]),
            owner=owners.workload(*key),
            evidence=scope.evidence(hpa=r["hpa"], hpa_max_desired=r["max_desired"],
                                    min_running_replicas=r["min_running"], avg_running_replicas=r["avg_running"],
                                    cost_per_pod_hour=per_pod),
            title=f"{key[2]} {key[1]}/{key[3]} runs {r['min_running']:g}+ replicas; HPA {r['hpa']} never needed more than {r['max_desired']:g}",
            thresholds=thresholds,
            action=f"let HPA {r['hpa']} own the replica count: remove spec.replicas from the manifest and "
                   f"lower to {r['max_desired']:g}",
            changes=[Change(field="spec.replicas", current=r["min_running"], recommended=r["max_desired"])],
            monthly_savings=savings, pricing="excess replicas x allocated cost per pod-hour x 730 h",
            confidence="medium", lacked=[] if per_pod is not None else ["allocated cost per pod-hour"],
        ))
    return out
