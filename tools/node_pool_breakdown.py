"""Tool ``node_pool_breakdown``: a cluster's cost per node pool, compared across two windows.

Per node pool (from ``allocation_hours``, which reconciles to the bill): cost in the baseline
and current window, the delta, its share of the cluster's node-pool increase, and the idle
share (``__idle__`` cost / pool cost). Per pool and node group (instance type, region,
capacity type): node-hours, GPU node-hours (``node_hours`` with allocatable GPUs) and the
node billing rows matched to the nodes (``billing_attribution`` kind ``node``, matched as in
the contracts: ``lower(resource_id) = instance_id`` or ends with ``'/' || instance_id``; a
row mapped to several nodes in one hour is split evenly over them).

Capacity type is the node's (on-demand, spot), or ``committed`` when the node's billing rows
carry a ``commitment_discount_id``. Autoscaling bounds come from the cluster-autoscaler:
its ``--nodes=MIN:MAX:NAME`` arguments (Deployment in ``k8s_objects``), its status
ConfigMap, or (maximum only) its TriggeredScaleUp / ScaledUpGroup events; otherwise they are
reported as unknown.

A spike confined to one pool stands out: ``spike`` is set on the pool whose delta is at least
half of the sum of all pools' increases and at least 10% of its own baseline.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from tools.clusters import require_cluster
from tools.context import Context
from tools.windows import Window, parse_window

SPIKE_SHARE = 0.5
SPIKE_GROWTH = 0.1
_NODES_ARG = re.compile(r"--nodes=(\d+):(\d+):([\w./:-]+)")
_STATUS_YAML = re.compile(r"name:\s*(\S+)[\s\S]*?minSize:\s*(\d+)[\s\S]*?maxSize:\s*(\d+)")
_STATUS_TEXT = re.compile(r"Name:\s*(\S+)[\s\S]*?minSize=(\d+),\s*maxSize=(\d+)")
# cluster-autoscaler events: "pod triggered scale-up: [{pool 2->6 (max: 8)}]",
# "Scale-up: setting group pool size to 6 instead of 2 (max: 8)"
_EVENT_MAX = (re.compile(r"\{(\S+)\s+\d+->\d+\s+\(max:\s*(\d+)\)\}"),
              re.compile(r"group\s+(\S+)\s+size\b.*?\(max:\s*(\d+)\)"))


class NodePoolInput(BaseModel):
    """Which cluster and which two windows."""

    cluster: str = Field(description="Cluster name as stored in the warehouse.")
    current: str = Field("this-week", description="Window to look at: this-week, 2026-W47, A..B, ...")
    baseline: str = Field("previous-week", description="Window to compare with (previous-week = the 7 days "
                          "before the current window).")


class NodeGroup(BaseModel):
    """Nodes of one pool sharing instance type, region and capacity type, in one window pair."""

    instance_type: str | None
    region: str | None
    capacity_type: str = Field(description="on-demand, spot or committed.")
    baseline_node_hours: float
    current_node_hours: float
    baseline_gpu_node_hours: float
    current_gpu_node_hours: float
    baseline_billed_cost: float | None = Field(description="Node billing rows matched; None when unbilled.")
    current_billed_cost: float | None


class NodePoolRow(BaseModel):
    """One node pool: cost in both windows, idle share, nodes, autoscaling bounds."""

    node_pool: str
    baseline_cost: float | None = Field(description="Allocated cost on the pool (None: no rows in the window).")
    current_cost: float | None
    delta: float
    delta_share: float | None = Field(description="Percent of the sum of all pools' increases (positive deltas).")
    spike: bool = Field(False, description="This pool carries most of the increase.")
    baseline_idle_share: float | None = Field(description="Idle cost / pool cost, percent.")
    current_idle_share: float | None
    baseline_node_hours: float
    current_node_hours: float
    baseline_gpu_node_hours: float
    current_gpu_node_hours: float
    gpu: bool
    autoscaling_min: int | None = None
    autoscaling_max: int | None = None
    autoscaling_source: str = Field("unknown", description="cluster-autoscaler args, status configmap, or unknown.")
    groups: list[NodeGroup] = Field(default_factory=list)


class NodePoolOutput(BaseModel):
    status: Literal["ok", "no_data", "error"]
    reason: str | None = None
    cluster: str
    current: Window
    baseline: Window
    total_delta: float | None = None
    headline: str | None = None
    pools: list[NodePoolRow] = Field(default_factory=list)


def _pool_costs(ctx: Context, cluster: str, w: Window) -> dict[str, tuple[float, float]]:
    rows = ctx.db.execute(
        "SELECT node_pool, sum(cost), sum(cost) FILTER (WHERE bucket = 'idle') FROM allocation_hours "
        "WHERE cluster = ? AND node_pool <> '' AND hour >= ? AND hour < ? GROUP BY node_pool",
        [cluster, w.start, w.end],
    ).fetchall()
    return {pool: (cost, idle or 0.0) for pool, cost, idle in rows}


def _node_groups(ctx: Context, cluster: str, w: Window) -> list[tuple]:
    column = "billed_cost" if ctx.settings.allocation.cost_basis == "billed" else "effective_cost"
    return ctx.db.execute(
        f"""
        WITH bill AS (
            SELECT lower(coalesce(resource_id, '')) AS rid, hour, sum({column}) AS cost
            FROM billing_attribution WHERE cluster = ? AND kind = 'node' AND hour >= ? AND hour < ?
            GROUP BY ALL
        ),
        ids AS (SELECT DISTINCT rid FROM bill),
        node_map AS (
            SELECT n.node, ids.rid FROM nodes n JOIN ids
              ON n.instance_id IS NOT NULL AND n.instance_id <> ''
             AND (ids.rid = lower(n.instance_id) OR ids.rid LIKE '%/' || lower(n.instance_id))
            WHERE n.cluster = ?
        ),
        committed AS (
            SELECT DISTINCT m.node FROM node_map m JOIN billing_rows b
              ON lower(coalesce(b.resource_id, '')) = m.rid
            WHERE b.commitment_discount_id IS NOT NULL AND b.charge_period_start < ? AND b.charge_period_end > ?
        ),
        nh AS (
            SELECT h.node, h.hour, h.gpu_allocatable > 0 AS has_gpu, m.rid
            FROM node_hours h LEFT JOIN node_map m USING (node)
            WHERE h.cluster = ? AND h.hour >= ? AND h.hour < ?
        ),
        priced AS (
            SELECT nh.node, nh.has_gpu,
                   b.cost / count(*) OVER (PARTITION BY nh.rid, nh.hour) AS cost
            FROM nh LEFT JOIN bill b ON b.rid = nh.rid AND b.hour = nh.hour
        )
        SELECT n.node_pool, n.instance_type, n.region,
               CASE WHEN c.node IS NOT NULL THEN 'committed' ELSE n.capacity_type END AS capacity,
               count(*) AS node_hours, count(*) FILTER (WHERE p.has_gpu) AS gpu_node_hours,
               sum(p.cost) AS billed
        FROM priced p JOIN nodes n ON n.cluster = ? AND n.node = p.node
        LEFT JOIN committed c ON c.node = p.node
        GROUP BY ALL ORDER BY ALL
        """,
        [cluster, w.start, w.end, cluster, w.end, w.start, cluster, w.start, w.end, cluster],
    ).fetchall()


def autoscaling_bounds(ctx: Context, cluster: str) -> dict[str, tuple[int | None, int, str]]:
    """Pool -> (min, max, source) from the cluster-autoscaler, where the warehouse has it."""
    bounds: dict[str, tuple[int | None, int, str]] = {}
    for kind, name, raw in ctx.db.execute(
        "SELECT kind, name, raw::VARCHAR FROM k8s_objects WHERE cluster = ? AND "
        "(kind IN ('Deployment', 'ConfigMap') AND name LIKE '%cluster-autoscaler%')", [cluster]
    ).fetchall():
        if kind == "Deployment":
            for lo, hi, group in _NODES_ARG.findall(raw):
                bounds[group] = (int(lo), int(hi), "cluster-autoscaler --nodes")
        else:
            for pattern in (_STATUS_YAML, _STATUS_TEXT):
                for group, lo, hi in pattern.findall(raw.replace("\\n", "\n")):
                    bounds.setdefault(group.strip('",'), (int(lo), int(hi), "cluster-autoscaler-status"))
    for (message,) in ctx.db.execute(
        "SELECT message FROM events WHERE cluster = ? AND reason IN ('TriggeredScaleUp', 'ScaledUpGroup') "
        "ORDER BY coalesce(last_ts, first_ts) DESC", [cluster]
    ).fetchall():
        for pattern in _EVENT_MAX:
            for group, hi in pattern.findall(message or ""):
                bounds.setdefault(group, (None, int(hi), "cluster-autoscaler events (max only)"))
    return bounds


def _bounds_for(pool: str, bounds: dict[str, tuple[int | None, int, str]]) -> tuple[int | None, int, str] | None:
    if pool in bounds:
        return bounds[pool]
    # Node-group names are often an ASG / MIG name containing the pool name.
    matches = [v for k, v in bounds.items() if re.search(rf"(^|[-_/.]){re.escape(pool)}([-_/.]|$)", k)]
    return matches[0] if len(matches) == 1 else None


def node_pool_breakdown(ctx: Context, args: NodePoolInput) -> NodePoolOutput:
    """Cost per node pool (and instance type, region, capacity type) of a cluster, two windows compared.

    Reports node-hours, GPU node-hours, idle share and autoscaling bounds where known, and
    flags the pool that carries most of the increase (``spike``), so a spike confined to one
    node pool stands out.

    Args:
        ctx: Warehouse context.
        args: Cluster and the current and baseline windows.

    Returns:
        Pools sorted by delta, largest first; status no_data when a window holds no cost.

    Raises:
        ToolRetry: Unknown cluster (carries the clusters with allocated cost).
    """
    require_cluster(ctx, args.cluster)
    current = parse_window(ctx, args.current, cluster=args.cluster)
    baseline = parse_window(ctx, args.baseline, relative_to=current, cluster=args.cluster)
    out = NodePoolOutput(status="ok", cluster=args.cluster, current=current, baseline=baseline)
    costs0, costs1 = _pool_costs(ctx, args.cluster, baseline), _pool_costs(ctx, args.cluster, current)
    for name, costs, w in (("baseline", costs0, baseline), ("current", costs1, current)):
        if not costs:
            out.status, out.reason = "no_data", f"no node-pool cost for cluster {args.cluster!r} in the {name} window {w.describe()}"
            return out
    groups: dict[str, dict[tuple, dict]] = {}
    for tag, w in (("baseline", baseline), ("current", current)):
        for pool, itype, region, cap, hours, gpu_hours, billed in _node_groups(ctx, args.cluster, w):
            g = groups.setdefault(pool, {}).setdefault((itype, region, cap), {})
            g[tag] = (float(hours), float(gpu_hours), billed)
    bounds = autoscaling_bounds(ctx, args.cluster)
    pools = sorted(set(costs0) | set(costs1) | set(groups))
    deltas = {p: costs1.get(p, (0.0, 0.0))[0] - costs0.get(p, (0.0, 0.0))[0] for p in pools}
    increase = sum(d for d in deltas.values() if d > 0)
    out.total_delta = sum(deltas.values())
    for pool in pools:
        c0, c1 = costs0.get(pool), costs1.get(pool)
        rows = []
        for (itype, region, cap), g in sorted(groups.get(pool, {}).items(), key=lambda kv: tuple(map(str, kv[0]))):
            h0, gh0, b0 = g.get("baseline", (0.0, 0.0, None))
            h1, gh1, b1 = g.get("current", (0.0, 0.0, None))
            rows.append(NodeGroup(instance_type=itype, region=region, capacity_type=cap, baseline_node_hours=h0,
                                  current_node_hours=h1, baseline_gpu_node_hours=gh0, current_gpu_node_hours=gh1,
                                  baseline_billed_cost=b0, current_billed_cost=b1))
        delta = deltas[pool]
        share = 100.0 * delta / increase if increase > 0 else None
        base = c0[0] if c0 else 0.0
        spike = (increase > 0 and delta >= SPIKE_SHARE * increase
                 and (base <= 0 or delta >= SPIKE_GROWTH * base))
        b = _bounds_for(pool, bounds)
        gpu_known = ctx.db.execute("SELECT coalesce(max(gpu_allocatable), 0) > 0 FROM nodes WHERE cluster = ? AND "
                                   "node_pool = ?", [args.cluster, pool]).fetchone()[0]
        out.pools.append(NodePoolRow(
            node_pool=pool, baseline_cost=c0[0] if c0 else None, current_cost=c1[0] if c1 else None, delta=delta,
            delta_share=share, spike=spike,
            baseline_idle_share=100.0 * c0[1] / c0[0] if c0 and c0[0] else None,
            current_idle_share=100.0 * c1[1] / c1[0] if c1 and c1[0] else None,
            baseline_node_hours=sum(r.baseline_node_hours for r in rows),
            current_node_hours=sum(r.current_node_hours for r in rows),
            baseline_gpu_node_hours=sum(r.baseline_gpu_node_hours for r in rows),
            current_gpu_node_hours=sum(r.current_gpu_node_hours for r in rows),
            gpu=bool(gpu_known) or any(r.current_gpu_node_hours or r.baseline_gpu_node_hours for r in rows),
            autoscaling_min=b[0] if b else None, autoscaling_max=b[1] if b else None,
            autoscaling_source=b[2] if b else "unknown", groups=rows,
        ))
    out.pools.sort(key=lambda p: (-p.delta, p.node_pool))
    spiking = [p for p in out.pools if p.spike]
    if spiking:
        p = spiking[0]
        growth = f", {100 * p.delta / p.baseline_cost:+.0f}%" if p.baseline_cost else ", new"
        out.headline = (f"node pool {p.node_pool} carries {p.delta_share:.0f}% of the node-pool increase "
                        f"({p.delta:+,.2f}{growth})")
    return out
