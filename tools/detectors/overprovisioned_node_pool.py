"""Overprovisioned node pools: requests fill too little of the pool's allocatable capacity.

Per pool, hourly utilization = max(CPU requests, memory requests) / allocatable, judged at its
``pool_utilization_quantile`` (p95) so short bursts do not hide waste. When that is below the
pool profile's target (dev 0.8, prod 0.65, ha 0.5), the recommendation is a node count,
ceil(average nodes x p95 utilization / target) (at least ``pool_min_nodes``), or, when that
does not remove a node, an instance type with that share of the capacity. GPU pools are
judged by ``gpu_warm_idle`` instead.

Savings: nodes removed x the pool's allocated compute cost per node-hour x 730; for a smaller
instance type, (1 - p95 utilization / target) x the pool's cost per hour x 730 (linear in size).
"""

from __future__ import annotations

from tools.detectors.finding import Change, Finding, ObjectRef, Series, Point
from tools.detectors.pool_usage import nodes_needed, pool_usage
from tools.detectors.pricing import pool_prices
from tools.detectors.scope import Outcome, Scope
from tools.detectors.thresholds import HOURS_PER_MONTH

NAME = "overprovisioned_node_pool"


def recommendation(scope: Scope, pool) -> tuple[float, float, int] | None:
    """(p95 utilization, target, recommended nodes) when the pool is overprovisioned, else None."""
    s = scope.settings
    if not pool.hours or pool.gpu_allocatable > 0 or len(pool.hours) < 24:
        return None
    u = pool.utilization_quantile(s.pool_utilization_quantile)
    target = s.profile_target(pool.profile)
    if u >= target:
        return None
    return u, target, nodes_needed(pool.avg_nodes, u, target, s.pool_min_nodes)


def detect(scope: Scope) -> Outcome:
    s = scope.settings
    out = Outcome()
    prices = pool_prices(scope)
    for pool in pool_usage(scope):
        rec = recommendation(scope, pool)
        if rec is None:
            continue
        u, target, needed = rec
        price = prices.get((pool.cluster, pool.pool))
        per_node = price.per_node_hour if price else None
        avg_nodes = pool.avg_nodes
        lacked: list[str] = []
        if needed < avg_nodes - 1e-9:
            change = Change(field="node_count", current=round(avg_nodes, 2), recommended=needed)
            action = f"shrink node pool {pool.pool} from {avg_nodes:g} to {needed} nodes"
            saved = None if per_node is None else (avg_nodes - needed) * per_node
            confidence = "high"
        else:
            share = u / target
            types = ", ".join(pool.instance_types) or "unknown"
            change = Change(field="instance_type", current=types,
                            recommended=f"an instance type with {share:.0%} of the CPU and memory")
            action = (f"move node pool {pool.pool} to a smaller instance type ({share:.0%} of {types}'s capacity)")
            saved = None if per_node is None else (1 - share) * per_node * avg_nodes
            lacked.append("price table for smaller instance types (priced linearly from the pool's cost)")
            confidence = "low"
        if per_node is None:
            lacked.append("allocated cost for the node pool")
        savings = None if saved is None else round(saved * HOURS_PER_MONTH, 2)
        if savings is not None and savings < s.min_monthly_savings:
            continue
        daily: dict = {}
        for h in pool.hours:
            daily.setdefault(h.hour.replace(hour=0), []).append(h.utilization)
        series = Series(name="utilization (daily mean of hourly max(cpu, memory) requests / allocatable)",
                        unit="ratio", points=[Point(t=d, v=round(sum(v) / len(v), 4)) for d, v in daily.items()])
        ev = scope.evidence(profile=pool.profile, p95_utilization=round(u, 4), target_utilization=target,
                            avg_nodes=round(avg_nodes, 2), recommended_nodes=needed,
                            instance_types=", ".join(pool.instance_types), cost_per_node_hour=per_node)
        ev.series.append(series)
        out.findings.append(Finding(
            detector=NAME, object=ObjectRef(cluster=pool.cluster, kind="NodePool", name=pool.pool),
            evidence=ev,
            title=f"Node pool {pool.cluster}/{pool.pool} is {u:.0%} requested at p95 (target {target:.0%} for {pool.profile})",
            thresholds={"profile": pool.profile, "target": target, "quantile": s.pool_utilization_quantile,
                        "min_nodes": s.pool_min_nodes},
            action=action, changes=[change], monthly_savings=savings,
            pricing="nodes removed x pool's allocated compute cost per node-hour x 730 h",
            confidence=confidence if per_node is not None else "low", lacked=lacked,
        ))
    return out
