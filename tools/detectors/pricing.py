"""Unit prices derived from the allocation (never list prices).

Every price here divides allocated dollars by the quantities allocation charged for them over
the judged window: a workload's $/core-hour is its ``cpu_cost / cpu_charged_hours``, a node
pool's $/node-hour is the compute cost allocated on the pool (workloads, idle and shared) over
its node-hours, a volume's cost is its billing_attribution rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from tools.detectors.scope import Scope

WorkloadKey = tuple[str, str, str, str]
PoolKey = tuple[str, str]


@dataclass(frozen=True)
class WorkloadPrice:
    """A workload's allocated cost and unit prices in the window (None where not charged)."""

    cost: float
    hours_present: int
    cpu_per_core_hour: float | None
    memory_per_gib_hour: float | None
    gpu_per_gpu_hour: float | None
    cost_per_pod_hour: float | None
    gpu_cost: float
    gpu_hours: float

    @property
    def cost_per_hour(self) -> float:
        """Average dollars per hour over the hours the workload was allocated cost."""
        return self.cost / self.hours_present if self.hours_present else 0.0


def _ratio(num: float | None, den: float | None) -> float | None:
    return num / den if num is not None and den else None


def workload_prices(scope: Scope) -> dict[WorkloadKey, WorkloadPrice]:
    """Allocated cost and unit prices per workload (bucket 'workload') over the window."""
    rows = scope.rows(
        f"""
        SELECT cluster, namespace, workload_kind, workload_name,
               sum(cost) AS cost, {scope.distinct_hours()} AS hours_present,
               sum(cpu_cost) AS cpu_cost, sum(cpu_charged_hours) AS cpu_h,
               sum(memory_cost) AS mem_cost, sum(memory_charged_gib_hours) AS mem_h,
               sum(gpu_cost) AS gpu_cost, sum(gpu_hours) AS gpu_h, sum(pod_hours) AS pod_h
        FROM allocation_hours
        WHERE bucket = 'workload' AND {scope.where()}
        GROUP BY ALL""",
        scope.params(),
    )
    out: dict[WorkloadKey, WorkloadPrice] = {}
    for r in rows:
        out[(r["cluster"], r["namespace"], r["workload_kind"], r["workload_name"])] = WorkloadPrice(
            cost=r["cost"] or 0.0,
            hours_present=r["hours_present"] or 0,
            cpu_per_core_hour=_ratio(r["cpu_cost"], r["cpu_h"]),
            memory_per_gib_hour=_ratio(r["mem_cost"], r["mem_h"]),
            gpu_per_gpu_hour=_ratio(r["gpu_cost"], r["gpu_h"]),
            cost_per_pod_hour=_ratio(r["cost"], r["pod_h"]),
            gpu_cost=r["gpu_cost"] or 0.0,
            gpu_hours=r["gpu_h"] or 0.0,
        )
    return out


@dataclass(frozen=True)
class PoolPrice:
    """A node pool's compute cost, node-hours and derived prices over the window."""

    compute_cost: float
    node_hours: float
    gpu_hours_allocatable: float

    @property
    def per_node_hour(self) -> float | None:
        return self.compute_cost / self.node_hours if self.node_hours else None

    @property
    def per_gpu_hour(self) -> float | None:
        return self.compute_cost / self.gpu_hours_allocatable if self.gpu_hours_allocatable else None


def pool_prices(scope: Scope) -> dict[PoolKey, PoolPrice]:
    """Compute cost allocated per node pool (every bucket on it) and its node-hours."""
    rows = scope.rows(
        f"""
        WITH cost AS (
            SELECT cluster, node_pool, sum(cpu_cost + memory_cost + gpu_cost) AS compute_cost
            FROM allocation_hours WHERE node_pool <> '' AND {scope.where()} GROUP BY ALL
        ), nh AS (
            SELECT h.cluster, n.node_pool, count(*) AS node_hours, sum(h.gpu_allocatable) AS gpu_hours
            FROM node_hours h JOIN nodes n USING (cluster, node)
            WHERE {scope.where('h')} GROUP BY ALL
        )
        SELECT cluster, node_pool, coalesce(compute_cost, 0) AS compute_cost,
               coalesce(node_hours, 0) AS node_hours, coalesce(gpu_hours, 0) AS gpu_hours
        FROM nh FULL OUTER JOIN cost USING (cluster, node_pool)""",
        scope.params() + scope.params(),
    )
    return {
        (r["cluster"], r["node_pool"]): PoolPrice(r["compute_cost"], r["node_hours"], r["gpu_hours"])
        for r in rows
    }


def volume_costs(scope: Scope) -> dict[tuple[str, str], float]:
    """Billed cost per PV in the window, from billing_attribution rows matched to ``pvs.volume_id``."""
    col = "billed_cost" if scope.ctx.settings.allocation.cost_basis == "billed" else "effective_cost"
    cond, params = scope.cluster_only("p")
    rows = scope.rows(
        f"""
        SELECT p.cluster, p.pv, sum(b.{col}) AS cost
        FROM pvs p JOIN billing_attribution b
          ON b.cluster = p.cluster AND b.kind = 'volume' AND p.volume_id IS NOT NULL
         AND (lower(b.resource_id) = p.volume_id OR lower(b.resource_id) LIKE '%/' || p.volume_id)
        WHERE {cond} AND b.hour >= ? AND b.hour < ?
        GROUP BY ALL""",
        params + [scope.window.start, scope.window.end],
    )
    return {(r["cluster"], r["pv"]): r["cost"] for r in rows}


def storage_price_per_gib_hour(scope: Scope) -> dict[str, float]:
    """Per cluster: allocated storage dollars / provisioned PV GiB-hours (fallback volume price)."""
    rows = scope.rows(
        f"""
        WITH cost AS (
            SELECT cluster, sum(storage_cost) AS storage_cost FROM allocation_hours
            WHERE {scope.where()} GROUP BY ALL
        ), size AS (
            SELECT v.cluster, sum(coalesce(v.capacity_bytes, c.request_bytes)) / 1073741824.0 AS gib_hours
            FROM volume_hours v LEFT JOIN pvcs c USING (cluster, namespace, pvc)
            WHERE {scope.where('v')} GROUP BY ALL
        )
        SELECT cluster, storage_cost / gib_hours AS price FROM cost JOIN size USING (cluster)
        WHERE gib_hours > 0 AND storage_cost > 0""",
        scope.params() + scope.params(),
    )
    return {r["cluster"]: r["price"] for r in rows}
