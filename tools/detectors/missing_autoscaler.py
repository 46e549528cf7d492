"""Missing cluster-autoscaler settings: fixed-size node pools whose load moves, or scale-down disabled.

A pool is flagged when its node count never changed over the window and the cluster shows no
autoscaler (no ``karpenter.sh/*`` node labels and no workload matching
``autoscaler_workload_patterns``), or when one of its nodes carries the annotation
``cluster-autoscaler.kubernetes.io/scale-down-disabled=true``. A managed autoscaler (GKE, AKS)
runs outside the cluster and is not visible in its objects; the finding says so.

Savings are what scaling with the load would save beyond a static right-size: per hour,
nodes kept (the overprovisioned_node_pool recommendation, else the nodes present) minus the
nodes the hour's requests need at the profile target, x the pool's allocated cost per
node-hour, averaged over the window x 730. A fixed pool with flat load yields no finding; a
pool with scale-down disabled is reported even when its dollars are all in the static
right-size (overprovisioned_node_pool's finding), with those extra savings (possibly 0).
"""

from __future__ import annotations

import re

from tools.detectors.finding import Change, Finding, ObjectRef
from tools.detectors.overprovisioned_node_pool import recommendation
from tools.detectors.pool_usage import nodes_needed, pool_usage
from tools.detectors.pricing import pool_prices
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "missing_autoscaler"
SCALE_DOWN_DISABLED = "cluster-autoscaler.kubernetes.io/scale-down-disabled"


def _autoscaler_clusters(scope: Scope) -> set[str]:
    cond, params = scope.cluster_only()
    found = {r["cluster"] for r in scope.rows(
        f"SELECT DISTINCT cluster FROM nodes WHERE {cond} "
        "AND len(list_filter(map_keys(labels), lambda k: k LIKE 'karpenter.sh/%')) > 0", params)}
    patterns = [re.compile(p) for p in scope.settings.autoscaler_workload_patterns]
    for r in scope.rows(f"SELECT DISTINCT cluster, name FROM workloads WHERE {cond}", params):
        if any(p.search(r["name"]) for p in patterns):
            found.add(r["cluster"])
    return found


def _scale_down_disabled(scope: Scope) -> set[tuple[str, str]]:
    cond, params = scope.cluster_only("o")
    return {(r["cluster"], r["node_pool"]) for r in scope.rows(
        f"""SELECT DISTINCT o.cluster, n.node_pool FROM k8s_objects o
            JOIN nodes n ON n.cluster = o.cluster AND n.node = o.name
            WHERE o.kind = 'Node' AND {cond} AND lower(o.annotations['{SCALE_DOWN_DISABLED}']) = 'true'""",
        params)}


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    prices = pool_prices(scope)
    with_autoscaler = _autoscaler_clusters(scope)
    disabled = _scale_down_disabled(scope)
    for pool in pool_usage(scope):
        if len(pool.hours) < 24 or pool.gpu_allocatable > 0:  # GPU pools: gpu_warm_idle
            continue
        counts = [h.nodes for h in pool.hours]
        fixed = min(counts) == max(counts)
        key = (pool.cluster, pool.pool)
        no_autoscaler = pool.cluster not in with_autoscaler
        if not ((fixed and no_autoscaler) or key in disabled):
            continue
        price = prices.get(key)
        per_node = price.per_node_hour if price else None
        target = s.profile_target(pool.profile)
        static = recommendation(scope, pool)
        kept_cap = static[2] if static and static[2] < pool.avg_nodes else None
        spare_node_hours = 0.0
        for h in pool.hours:
            kept = min(h.nodes, kept_cap) if kept_cap is not None else h.nodes
            need = nodes_needed(h.nodes, h.utilization, target, s.pool_min_nodes)
            spare_node_hours += max(0, kept - need)
        lacked = []
        if no_autoscaler:
            lacked.append("node-pool autoscaling bounds from the cloud API (a managed autoscaler is not visible "
                          "in the cluster's objects)")
        if per_node is None:
            lacked.append("allocated cost for the node pool")
        savings = None if per_node is None else round(spare_node_hours / len(pool.hours) * per_node * HOURS_PER_MONTH, 2)
        # a disabled scale-down is a finding of its own; a merely fixed pool must show dollars
        if key not in disabled and (savings is None or savings < s.min_monthly_savings):
            continue
        needs = [nodes_needed(h.nodes, h.utilization, target, s.pool_min_nodes) for h in pool.hours]
        reasons = []
        if fixed:
            reasons.append(f"fixed at {counts[0]} nodes for {len(counts)} hours")
        if no_autoscaler:
            reasons.append("no autoscaler seen")
        if key in disabled:
            reasons.append("scale-down disabled")
        changes = [Change(field="autoscaling.min_nodes", current=min(counts), recommended=min(needs)),
                   Change(field="autoscaling.max_nodes", current=max(counts), recommended=max(max(needs), max(counts)))]
        if key in disabled:
            changes.append(Change(field=f"annotations[{SCALE_DOWN_DISABLED}]", current="true", recommended=None))
        out.findings.append(Finding(
            detector=NAME, object=ObjectRef(cluster=pool.cluster, kind="NodePool", name=pool.pool),
            evidence=scope.evidence(fixed_size=fixed, nodes_min=min(counts), nodes_max=max(counts),
                                    nodes_needed_min=min(needs), nodes_needed_max=max(needs),
                                    autoscaler_seen=not no_autoscaler, scale_down_disabled=key in disabled,
                                    profile=pool.profile, target_utilization=target,
                                    spare_node_hours=spare_node_hours, cost_per_node_hour=per_node),
            title=f"Node pool {pool.cluster}/{pool.pool} does not follow its load ({'; '.join(reasons)})",
            thresholds={"profile": pool.profile, "target": target, "min_nodes": s.pool_min_nodes},
            action=f"enable autoscaling on node pool {pool.pool} with min {min(needs)} and max "
                   f"{max(max(needs), max(counts))} nodes" + (" and remove the scale-down-disabled annotation"
                                                              if key in disabled else ""),
            changes=changes, monthly_savings=savings,
            pricing="spare node-hours beyond the static right-size (nodes kept - nodes needed at target) x pool "
                    "cost per node-hour, per hour x 730 h",
            confidence="medium", lacked=lacked,
        ))
    return out
