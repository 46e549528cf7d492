"""Hourly node-pool utilization and pool profiles, shared by the node-pool detectors.

Utilization of a pool in an hour = max(CPU requests / CPU allocatable, memory requests /
memory allocatable), requests summed over the pods on the pool's nodes weighted by the share
of the hour they ran. A pool's profile (dev, prod, ha) comes from the node label
``allot.dev/profile``, else the first ``pool_profiles`` glob matching ``cluster/pool``, else
``default_profile``; its target utilization from ``profile_targets``.
"""

from __future__ import annotations

import fnmatch
import math
from dataclasses import dataclass, field
from datetime import datetime

from tools.detectors.scope import Scope

PROFILE_LABEL = "allot.dev/profile"


@dataclass
class PoolHour:
    hour: datetime
    nodes: int
    utilization: float
    cpu_requests: float
    memory_requests: float


@dataclass
class PoolUsage:
    cluster: str
    pool: str
    profile: str
    gpu_allocatable: float
    instance_types: list[str]
    hours: list[PoolHour] = field(default_factory=list)

    @property
    def avg_nodes(self) -> float:
        return sum(h.nodes for h in self.hours) / len(self.hours) if self.hours else 0.0

    def utilization_quantile(self, q: float) -> float:
        """Linear-interpolated quantile of hourly utilization (same rule as quantile_cont)."""
        values = sorted(h.utilization for h in self.hours)
        pos = q * (len(values) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        return values[lo] + (values[hi] - values[lo]) * (pos - lo)


def pool_usage(scope: Scope) -> list[PoolUsage]:
    """Per node pool in the window, its hourly utilization (pools with no node-hours are absent)."""
    rows = scope.rows(
        f"""
        WITH nh AS (
            SELECT h.cluster, h.node, h.hour, n.node_pool, h.cpu_allocatable, h.memory_allocatable,
                   h.gpu_allocatable
            FROM node_hours h JOIN nodes n USING (cluster, node) WHERE {scope.where('h')}
        ), req AS (
            SELECT cluster, node, hour, sum(cpu_request * fraction) AS cpu, sum(memory_request * fraction) AS mem
            FROM pod_hours WHERE {scope.where()} GROUP BY ALL
        )
        SELECT nh.cluster, nh.node_pool, nh.hour, count(*) AS nodes,
               sum(nh.cpu_allocatable) AS cpu_alloc, sum(nh.memory_allocatable) AS mem_alloc,
               sum(nh.gpu_allocatable) AS gpu_alloc,
               coalesce(sum(req.cpu), 0) AS cpu_req, coalesce(sum(req.mem), 0) AS mem_req
        FROM nh LEFT JOIN req USING (cluster, node, hour)
        GROUP BY ALL ORDER BY nh.cluster, nh.node_pool, nh.hour""",
        scope.params() + scope.params(),
    )
    cond, params = scope.cluster_only()
    meta = {
        (r["cluster"], r["node_pool"]): r
        for r in scope.rows(
            f"""SELECT cluster, node_pool, list(DISTINCT instance_type ORDER BY instance_type)
                       FILTER (WHERE instance_type IS NOT NULL) AS types,
                       max(labels['{PROFILE_LABEL}']) AS profile_label
                FROM nodes WHERE {cond} GROUP BY ALL""",
            params,
        )
    }
    pools: dict[tuple[str, str], PoolUsage] = {}
    for r in rows:
        key = (r["cluster"], r["node_pool"])
        if key not in pools:
            m = meta.get(key, {})
            pools[key] = PoolUsage(cluster=key[0], pool=key[1], profile=pool_profile(scope, key, m.get("profile_label")),
                                   gpu_allocatable=0.0, instance_types=m.get("types") or [])
        pool = pools[key]
        pool.gpu_allocatable = max(pool.gpu_allocatable, r["gpu_alloc"] or 0.0)
        cpu_share = r["cpu_req"] / r["cpu_alloc"] if r["cpu_alloc"] else 0.0
        mem_share = r["mem_req"] / r["mem_alloc"] if r["mem_alloc"] else 0.0
        pool.hours.append(PoolHour(hour=r["hour"], nodes=r["nodes"], utilization=max(cpu_share, mem_share),
                                   cpu_requests=r["cpu_req"], memory_requests=r["mem_req"]))
    return list(pools.values())


def pool_profile(scope: Scope, key: tuple[str, str], label: str | None, *, default: bool = True) -> str | None:
    """The pool's profile; with ``default=False``, None when no label or rule names one."""
    s = scope.settings
    if label in s.profile_targets:
        return label
    for pattern, profile in s.pool_profiles.items():
        if fnmatch.fnmatchcase(f"{key[0]}/{key[1]}", pattern):
            return profile
    return s.default_profile if default else None


def nodes_needed(nodes: float, utilization: float, target: float, minimum: int) -> int:
    """Nodes that carry the same requests at the target utilization: ceil(nodes x u / target)."""
    return max(minimum, math.ceil(nodes * utilization / target - 1e-9))
