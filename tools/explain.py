"""Tool ``explain_change``: which namespaces or workloads explain a cluster's cost change, and why.

Reads ``allocation_hours`` for the cluster in two windows (baseline and current). Every row of
that table is one bucket of billed money, so the keys below partition the cluster's bill:

* workload buckets -> the namespace (``--by namespace``) or ``namespace/kind/name``
  (``--by workload``);
* ``__idle__`` (all node pools; the pools are listed in ``node_pools``), ``__shared__:<what>``,
  ``__unowned_storage__``, ``__unallocated__`` and, when explaining the whole estate
  (``cluster='*'``), ``external:<service>`` keep their own keys.

Hence ``sum(row.delta) == total_delta`` = the change of the cluster's allocated (= billed)
total. Rows priced from the price table (``estimated``) are left out unless asked for, because
they are not on the bill; ``billed_delta`` re-reads ``billing_attribution`` as a cross-check.
Each row's delta is split into drivers by :mod:`tools.explain_drivers` (the math is there),
computed per workload and summed per namespace.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.clusters import require_cluster
from tools.context import Context
from tools.deploy_history import Change, collect_changes
from tools.errors import InputError
from tools.explain_drivers import DRIVERS, KeyWindow, add_drivers, decompose, other_detail, significant_drivers
from tools.windows import Window, parse_window

PROVIDER_PRODUCT = {"gcp": "GKE", "aws": "EKS", "azure": "AKS"}
ALL_CLUSTERS = "*"
MAX_CHANGES_PER_ROW = 12

_UNIT_SQL = """
SELECT bucket, namespace, workload_kind, workload_name,
       count(*) AS rows, sum(cost) AS cost, sum(cpu_cost) AS cpu_cost,
       sum(memory_cost) AS memory_cost, sum(gpu_cost) AS gpu_cost, sum(storage_cost) AS storage_cost,
       sum(network_cost) AS network_cost, sum(observability_cost) AS observability_cost,
       sum(other_cost) AS other_cost,
       {quantities}
FROM allocation_hours
WHERE {cluster_filter} AND hour >= ? AND hour < ? AND ({include_estimated} OR NOT estimated)
GROUP BY ALL
"""
_QUANTITIES = {  # quantity column -> the cost it prices
    "pod_hours": "cpu_cost + memory_cost + gpu_cost", "cpu_request_hours": "cpu_cost",
    "cpu_charged_hours": "cpu_cost", "memory_request_gib_hours": "memory_cost",
    "memory_charged_gib_hours": "memory_cost", "gpu_hours": "gpu_cost",
}
_POOL_SQL = """
SELECT bucket, namespace, workload_kind, workload_name, node_pool, sum(cost)
FROM allocation_hours
WHERE {cluster_filter} AND hour >= ? AND hour < ? AND ({include_estimated} OR NOT estimated)
GROUP BY ALL
"""


class ExplainInput(BaseModel):
    """Which cluster, which two windows, and how to group."""

    cluster: str = Field(description="Cluster name as stored in the warehouse ('*' for every cluster "
                         "plus out-of-cluster services).")
    current: str = Field("this-week", description="The window being explained: this-week, 2026-W47, A..B, ...")
    baseline: str = Field("previous-week", description="The window compared against; previous-week means "
                          "the 7 days before the current window.")
    by: Literal["namespace", "workload"] = Field("namespace", description="Group rows by namespace or workload.")
    key: str | None = Field(None, description="Explain only this namespace (or namespace/kind/name workload).")
    include_estimated: bool = Field(False, description="Include cost of nodes priced from the price table.")


class WindowBounds(BaseModel):
    start: str
    end: str
    label: str

    @classmethod
    def of(cls, w: Window) -> "WindowBounds":
        return cls(start=w.start.isoformat(), end=w.end.isoformat(), label=w.label)


class NodePoolMove(BaseModel):
    """Where a row's cost moved: one node pool's baseline and current cost."""

    node_pool: str
    baseline_cost: float
    current_cost: float
    delta: float
    gpu: bool = Field(False, description="The pool has nodes with allocatable GPUs.")
    instance_types: list[str] = Field(default_factory=list)


class ExplainRow(BaseModel):
    """One namespace / workload / bucket: its cost in both windows and why it moved."""

    key: str
    bucket: str = Field(description="workload, idle, shared, unowned_storage, unallocated or external.")
    baseline_cost: float
    current_cost: float
    delta: float
    share_of_increase: float | None = Field(description="delta as percent of total_delta (None when total is 0).")
    drivers: dict[str, float] = Field(description="pod_hours, requests, usage_above_requests, gpu_hours, "
                                      "unit_price, idle_capacity (idle rows), new_or_removed, other; they sum to delta.")
    main_drivers: list[str] = Field(default_factory=list, description="Drivers carrying >= 10% of the delta.")
    other_detail: dict[str, float] = Field(default_factory=dict, description="Cost changes inside `other` by "
                                           "kind: storage, network, observability, other (existing keys only).")
    node_pools: list[NodePoolMove] = Field(default_factory=list)
    owner: str | None = None
    team: str | None = None
    owner_source: str | None = None
    owner_labels: dict[str, str] = Field(default_factory=dict)
    changes: list[Change] = Field(default_factory=list, description="Changes that line up with the main drivers.")


class ExplainOutput(BaseModel):
    """The decomposed change. ``sum(rows.delta) == total_delta``; each row's drivers sum to its delta."""

    status: Literal["ok", "no_data", "error"]
    reason: str | None = None
    cluster: str
    by: str
    current: WindowBounds
    baseline: WindowBounds
    baseline_total: float | None = None
    current_total: float | None = None
    total_delta: float | None = None
    billed_delta: float | None = Field(None, description="Change of the billing rows attributed to the cluster "
                                       "(billing_attribution), for reconciliation.")
    headline: str | None = None
    rows: list[ExplainRow] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)


def _cluster_filter(cluster: str) -> tuple[str, list]:
    return ("TRUE", []) if cluster == ALL_CLUSTERS else ("cluster = ?", [cluster])


def _row_key(by: str, bucket: str, namespace: str, kind: str, name: str) -> str:
    if bucket == "workload":
        return namespace if by == "namespace" else f"{namespace}/{kind}/{name}"
    if bucket == "idle":
        return "__idle__"
    if bucket == "external":
        return f"external:{name}"
    return name


def _units(ctx: Context, cluster: str, w: Window, include_estimated: bool) -> dict[tuple, KeyWindow]:
    cf, params = _cluster_filter(cluster)
    # A quantity is known when every row that carries the matching cost carries it too
    # (rows without that cost, e.g. a workload's volume rows, do not make it unknown).
    quantities = ", ".join(
        f"CASE WHEN count(*) FILTER (WHERE {q} IS NULL AND {cost} <> 0) = 0 THEN coalesce(sum({q}), 0) END AS {q}"
        for q, cost in _QUANTITIES.items())
    sql = _UNIT_SQL.format(quantities=quantities, cluster_filter=cf, include_estimated=str(include_estimated).upper())
    cur = ctx.db.execute(sql, [*params, w.start, w.end])
    names = [d[0] for d in cur.description]
    out = {}
    for row in cur.fetchall():
        values = dict(zip(names, row))
        out[(values["bucket"], values["namespace"], values["workload_kind"], values["workload_name"])] = \
            KeyWindow.from_mapping(values)
    return out


def _pools(ctx: Context, cluster: str, w: Window, by: str, include_estimated: bool) -> dict[tuple[str, str], float]:
    cf, params = _cluster_filter(cluster)
    sql = _POOL_SQL.format(cluster_filter=cf, include_estimated=str(include_estimated).upper())
    out: dict[tuple[str, str], float] = {}
    for bucket, ns, kind, name, pool, cost in ctx.db.execute(sql, [*params, w.start, w.end]).fetchall():
        key = (_row_key(by, bucket, ns, kind, name), pool)
        out[key] = out.get(key, 0.0) + cost
    return out


def _billed_total(ctx: Context, cluster: str, w: Window) -> float | None:
    column = "billed_cost" if ctx.settings.allocation.cost_basis == "billed" else "effective_cost"
    cf, params = _cluster_filter(cluster)
    n, total = ctx.db.execute(
        f"SELECT count(*), sum({column}) FROM billing_attribution WHERE {cf} AND hour >= ? AND hour < ?",
        [*params, w.start, w.end],
    ).fetchone()
    return total if n else None


def _pool_facts(ctx: Context, cluster: str) -> dict[str, tuple[bool, list[str]]]:
    cf, params = _cluster_filter(cluster)
    rows = ctx.db.execute(
        f"SELECT node_pool, max(coalesce(gpu_allocatable, 0)) > 0, list(DISTINCT instance_type ORDER BY instance_type) "
        f"FILTER (WHERE instance_type IS NOT NULL) FROM nodes WHERE {cf} GROUP BY node_pool", params,
    ).fetchall()
    return {pool: (bool(gpu), list(types or [])) for pool, gpu, types in rows}


def _owners(ctx: Context, cluster: str) -> dict[tuple[str, str, str], tuple]:
    cf, params = _cluster_filter(cluster)
    rows = ctx.db.execute(
        f"SELECT namespace, workload_kind, workload_name, owner, team, owner_source, labels "
        f"FROM workload_owners WHERE {cf}", params,
    ).fetchall()
    return {(ns, k, n): (owner, team, src, dict(labels or {})) for ns, k, n, owner, team, src, labels in rows}


def _headline(out: ExplainOutput, provider: str | None, by: str) -> str | None:
    rows = out.rows
    if not rows or out.total_delta is None:
        return None
    what = "estate" if out.cluster == ALL_CLUSTERS else PROVIDER_PRODUCT.get(provider or "", out.cluster)
    if abs(out.total_delta) < 0.005:
        return (f"{what} cost is flat: {out.baseline.label} {out.baseline_total:,.2f} -> {out.current.label} "
                f"{out.current_total:,.2f} ({out.total_delta:+,.2f}); largest move {rows[0].key} {rows[0].delta:+,.2f}")
    increase = out.total_delta >= 0
    top = rows[0] if increase else min(rows, key=lambda r: r.delta)
    noun = f" {by}" if top.bucket == "workload" else ""
    share = f"{top.share_of_increase:.0f}%" if top.share_of_increase is not None else f"{top.delta:+,.2f}"
    direction = "increase" if increase else "decrease"
    if out.current.label == "this-week":
        change = f"this week's {what} {direction}"
    else:
        change = f"the {what} {direction} from {out.baseline.label} to {out.current.label}"
    return (f"{top.key}{noun} drove {share} of {change} "
            f"({top.delta:+,.2f} of {out.total_delta:+,.2f}; {out.baseline.label} {out.baseline_total:,.2f} "
            f"-> {out.current.label} {out.current_total:,.2f})")


def _lined_up(changes: list[Change], row_key: str, by: str, bucket: str, main: list[str]) -> list[Change]:
    if bucket != "workload" or not main:
        return []
    picked = []
    for c in changes:
        if by == "namespace":
            if c.namespace != row_key:
                continue
        elif f"{c.namespace}/{c.workload_kind}/{c.workload_name}" != row_key and not (
            c.kind == "Namespace" and row_key.startswith(c.namespace + "/")
        ):
            continue
        if set(c.drivers) & set(main):
            picked.append(c)
    # Deploys and spec changes first, events after; then by time.
    picked.sort(key=lambda c: (c.source == "events", c.timestamp))
    return picked[:MAX_CHANGES_PER_ROW]


def explain_change(ctx: Context, args: ExplainInput) -> ExplainOutput:
    """Explain a cluster's cost change between two windows, by namespace or by workload.

    The total change is split into rows (namespaces or workloads, plus idle, shared,
    unowned storage and unallocated buckets) whose deltas add up exactly to the change of the
    cluster's billed total; each row's delta is split into drivers that add up exactly:
    pod_hours (more pods or replicas), requests (higher requests), usage_above_requests,
    gpu_hours, unit_price (node price or discount), idle_capacity (unclaimed capacity of idle
    rows), new_or_removed (the whole delta of a new or removed workload) and other (storage,
    network and the rest). Each row lists the node
    pools where its cost moved, its owner and team, and the changes (deploys, parallelism,
    replicas, schedule) in the windows that line up with its main drivers.

    Args:
        ctx: Warehouse context.
        args: Cluster, current and baseline windows, grouping, optional single key.

    Returns:
        Rows sorted by delta, largest first; status no_data (with the reason) when a window or
        the key holds no data.

    Raises:
        ToolRetry: Unknown cluster (carries the clusters that have data).
        InputError: A window is not understood, lies outside the data, or the two overlap.
    """
    if args.cluster != ALL_CLUSTERS:
        require_cluster(ctx, args.cluster)
    scope = None if args.cluster == ALL_CLUSTERS else args.cluster
    current = parse_window(ctx, args.current, cluster=scope)
    baseline = parse_window(ctx, args.baseline, relative_to=current, cluster=scope)
    if baseline.start < current.end and current.start < baseline.end:
        raise InputError(f"windows overlap: baseline {baseline.describe()} and current {current.describe()}; "
                         f"pick a baseline before the current window (e.g. previous-week)")
    out = ExplainOutput(status="ok", cluster=args.cluster, by=args.by,
                        current=WindowBounds.of(current), baseline=WindowBounds.of(baseline))

    units0 = _units(ctx, args.cluster, baseline, args.include_estimated)
    units1 = _units(ctx, args.cluster, current, args.include_estimated)
    for name, units, w in (("baseline", units0, baseline), ("current", units1, current)):
        if not units:
            out.status = "no_data"
            out.reason = (f"no allocated cost for cluster {args.cluster!r} in the {name} window {w.describe()}; "
                          f"a comparison against a window without data would show every cost as new")
            return out

    rows: dict[str, dict] = {}
    for unit in sorted(set(units0) | set(units1)):
        bucket, ns, kind, name = unit
        key = _row_key(args.by, *unit)
        b, c = units0.get(unit, KeyWindow()), units1.get(unit, KeyWindow())
        acc = rows.setdefault(key, {"bucket": bucket, "base": 0.0, "cur": 0.0, "drivers": dict.fromkeys(DRIVERS, 0.0),
                                    "units": [], "other": {}})
        for part, value in other_detail(b, c).items():
            acc["other"][part] = acc["other"].get(part, 0.0) + value
        acc["base"] += b.cost
        acc["cur"] += c.cost
        acc["drivers"] = add_drivers(acc["drivers"], decompose(b, c, idle=bucket == "idle"))
        acc["units"].append((max(c.cost, b.cost), unit))

    if args.key is not None:
        if args.key not in rows:
            out.status = "no_data"
            out.reason = (f"{args.by} {args.key!r} has no allocated cost in cluster {args.cluster!r} in either "
                          f"{baseline.describe()} or {current.describe()}")
            return out

    out.baseline_total = sum(kw.cost for kw in units0.values())
    out.current_total = sum(kw.cost for kw in units1.values())
    out.total_delta = out.current_total - out.baseline_total
    if scope is not None:
        billed0, billed1 = _billed_total(ctx, scope, baseline), _billed_total(ctx, scope, current)
        if billed0 is not None and billed1 is not None:
            out.billed_delta = billed1 - billed0
            if abs(out.billed_delta - out.total_delta) > 0.01:
                out.caveats.append(f"allocated delta {out.total_delta:,.2f} differs from billed delta "
                                   f"{out.billed_delta:,.2f}; re-run allocation (`allot allocate`) or check estimated nodes")
    if not args.include_estimated:
        cf, params = _cluster_filter(args.cluster)
        n = ctx.db.execute(f"SELECT count(*) FROM allocation_hours WHERE {cf} AND estimated AND "
                           f"((hour >= ? AND hour < ?) OR (hour >= ? AND hour < ?))",
                           [*params, baseline.start, baseline.end, current.start, current.end]).fetchone()[0]
        if n:
            out.caveats.append(f"{n} allocation rows priced from the price table (not the bill) are left out")

    pools0 = _pools(ctx, args.cluster, baseline, args.by, args.include_estimated)
    pools1 = _pools(ctx, args.cluster, current, args.by, args.include_estimated)
    facts = _pool_facts(ctx, args.cluster)
    owners = _owners(ctx, args.cluster)
    span = Window(start=min(baseline.start, current.start), end=max(baseline.end, current.end), label="comparison")
    changes = collect_changes(ctx, scope, span) if scope is not None else []

    for key, acc in rows.items():
        if args.key is not None and key != args.key:
            continue
        delta = acc["cur"] - acc["base"]
        main = significant_drivers(acc["drivers"], delta)
        pool_moves = []
        for pool in sorted({p for (k, p) in set(pools0) | set(pools1) if k == key}):
            c0, c1 = pools0.get((key, pool), 0.0), pools1.get((key, pool), 0.0)
            if pool and abs(c1 - c0) > 0.005:
                gpu, types = facts.get(pool, (False, []))
                pool_moves.append(NodePoolMove(node_pool=pool, baseline_cost=c0, current_cost=c1, delta=c1 - c0,
                                               gpu=gpu, instance_types=types))
        pool_moves.sort(key=lambda m: -abs(m.delta))
        owner = team = source = None
        labels: dict[str, str] = {}
        workload_units = [u for u in sorted(acc["units"], reverse=True) if u[1][0] == "workload"]
        if workload_units:
            _, (_, ns, kind, name) = workload_units[0]
            if (ns, kind, name) in owners:
                owner, team, source, labels = owners[(ns, kind, name)]
        out.rows.append(ExplainRow(
            key=key, bucket=acc["bucket"], baseline_cost=acc["base"], current_cost=acc["cur"], delta=delta,
            share_of_increase=(100.0 * delta / out.total_delta) if abs(out.total_delta) >= 0.005 else None,
            drivers=acc["drivers"], main_drivers=main, node_pools=pool_moves,
            other_detail={k: v for k, v in acc["other"].items() if abs(v) >= 0.005}, owner=owner, team=team,
            owner_source=source, owner_labels=labels,
            changes=_lined_up(changes, key, args.by, acc["bucket"], main),
        ))
    out.rows.sort(key=lambda r: (-r.delta, r.key))
    provider = None
    if scope is not None:
        found = ctx.db.execute("SELECT provider FROM clusters WHERE cluster = ?", [scope]).fetchone()
        provider = found[0] if found else None
    if args.key is None:
        out.headline = _headline(out, provider, args.by)
    return out
