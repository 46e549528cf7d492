"""``allocate_window``: cost per namespace, workload, owner, team, label, node pool or cluster.

Reads ``allocation_hours`` (filtered on hour and cluster before anything else) joined to
``workload_owners``. Row semantics (each row's ``cost`` is the sum of its cost columns):

* ``cpu_cost .. network_cost``, ``observability_cost``, ``other_cost``: the row's own money,
  including unowned storage, unallocated and external lines;
* ``idle_cost``: ``__idle__`` money (rows keyed ``__idle__``, or inside a node-pool / cluster
  row); ``shared_cost``: ``__shared__:*`` money kept visible (policy ``none``), or the amount
  a row received from the distribution policy (``tools.allocation.policies``).
* Keys: the grouping value for workload rows (``namespace``, ``namespace/kind/name``, owner,
  team, label value, node pool, cluster); other buckets keep their own name (``__idle__``,
  ``__shared__:kube-system``, ``__unowned_storage__``, ``__unallocated__``, the service name of
  an external line), except by ``node_pool`` (their pool when they have one) and by
  ``cluster`` (the cluster; ``external`` for lines outside any cluster). Missing labels read
  ``unowned`` (owner, team) or ``(none)`` (label:KEY); workloads without a pool ``(no node pool)``.
* Coverage is over workload cost only (idle, shared and unattributable lines have no owner):
  the share with a resolved owner, and per label key the share whose merged labels carry it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from tools.allocation.owners import OWNER_FIELDS
from tools.allocation.policies import Entry, distribute_shared
from tools.context import Context
from tools.errors import InputError

BY_CHOICES = ("namespace", "workload", "owner", "team", "node_pool", "cluster")
COMPONENTS = ("cpu_cost", "memory_cost", "gpu_cost", "storage_cost", "network_cost", "observability_cost", "other_cost")


class AllocateInput(BaseModel):
    """Arguments of ``allocate_window``."""

    window: str = Field("7d", description="7d / 14d / Nd (last N full days of data), this-week, all, or START..END")
    by: str = Field("namespace", description="namespace, workload, owner, team, label:KEY, node_pool or cluster")
    cluster: str | None = Field(None, description="Only this cluster (default: every cluster and external services)")
    shared_policy: Literal["none", "proportional", "even", "weights"] | None = Field(
        None, description="Distribute shared cost: none (visible rows), proportional, even, weights "
        "(per team). Default: settings.allocation.shared_policy")
    team_weights: dict[str, float] | None = Field(
        None, description="Weights per team for shared_policy 'weights' (default: settings.allocation.team_weights)")

    @field_validator("by")
    @classmethod
    def _check_by(cls, value: str) -> str:
        if value in BY_CHOICES or re.fullmatch(r"label:[A-Za-z0-9_./\-]+", value):
            return value
        raise ValueError(f"by must be one of {', '.join(BY_CHOICES)} or label:KEY, not {value!r}")


class AllocationRow(BaseModel):
    """One key's cost in the window; ``cost`` = the sum of the cost columns."""

    key: str
    cost: float
    cpu_cost: float = 0.0
    memory_cost: float = 0.0
    gpu_cost: float = 0.0
    storage_cost: float = 0.0
    network_cost: float = 0.0
    shared_cost: float = 0.0
    idle_cost: float = 0.0
    owner: str = Field("", description="owner of the row's largest workload; '' for idle/shared/other lines")
    observability_cost: float = 0.0
    other_cost: float = 0.0
    estimated_cost: float = Field(0.0, description="part of cost priced from the price table, not the bill")
    bucket: str = Field("", description="workload, idle, shared, unowned_storage, unallocated, external or mixed")
    pod_hours: float = 0.0
    gpu_hours: float = 0.0


class AllocateOutput(BaseModel):
    """Cost per key in the window, with label coverage."""

    status: Literal["ok", "no_data", "error"]
    message: str = ""
    window: str = ""
    start: datetime | None = None
    end: datetime | None = None
    by: str = ""
    cluster: str | None = None
    shared_policy: str = "none"
    cost_basis: str = "effective"
    total_cost: float | None = None
    billed_cost: float | None = Field(None, description="part of total_cost priced from the bill")
    estimated_cost: float | None = Field(None, description="part of total_cost priced from the price table")
    owner_coverage: float | None = Field(None, description="share of workload cost with an owner (0..1)")
    label_coverage: dict[str, float] = Field(default_factory=dict, description="share of workload cost per label key")
    data_range: str = Field("", description="the hours the warehouse holds, when the window found nothing")
    rows: list[AllocationRow] = Field(default_factory=list)


def _key_expr(by: str) -> tuple[str, list]:
    if by == "namespace":
        return "CASE WHEN a.bucket = 'workload' THEN a.namespace ELSE a.workload_name END", []
    if by == "workload":
        return ("CASE WHEN a.bucket = 'workload' THEN a.namespace || '/' || a.workload_kind || '/' || a.workload_name "
                "ELSE a.workload_name END"), []
    if by == "owner":
        return "CASE WHEN a.bucket = 'workload' THEN coalesce(o.owner, 'unowned') ELSE a.workload_name END", []
    if by == "team":
        return "CASE WHEN a.bucket = 'workload' THEN coalesce(nullif(o.team, ''), 'unowned') ELSE a.workload_name END", []
    if by == "node_pool":
        return ("CASE WHEN a.node_pool <> '' THEN a.node_pool WHEN a.bucket = 'workload' THEN '(no node pool)' "
                "ELSE a.workload_name END"), []
    if by == "cluster":
        return "CASE WHEN a.cluster = '' THEN 'external' ELSE a.cluster END", []
    return ("CASE WHEN a.bucket = 'workload' THEN coalesce(nullif(o.labels[?::VARCHAR], ''), '(none)') "
            "ELSE a.workload_name END"), [by.split(":", 1)[1]]


def _data_range(ctx: Context) -> str:
    lo, hi = ctx.db.execute("SELECT min(hour), max(hour) FROM allocation_hours").fetchone()
    return "no allocation data" if lo is None else f"{lo:%Y-%m-%d %H:%M} .. {hi:%Y-%m-%d %H:%M} (last hour)"


def resolve_window(ctx: Context, text: str, cluster: str | None = None) -> tuple[datetime, datetime, str]:
    """(start, end, label) of a window expression, through ``tools.windows.parse_window``."""
    from tools.windows import parse_window

    w = parse_window(ctx, text, cluster=cluster)
    return w.start, w.end, w.describe()


def _window_sql(where: str, key_sql: str, label_keys: int) -> str:
    """One pass over the window's ``allocation_hours`` rows: summed per workload and node pool
    first, then joined to ``workload_owners`` (one row per workload, not per hour) and grouped by
    the output key. Besides the cost columns each record carries its workload cost with an owner
    and per label key (columns 16 and 17..), from which coverage is summed."""
    sums = ", ".join(f"sum(a.{c}) AS {c}" for c in COMPONENTS)
    outer = ", ".join(f"sum(a.{c})" for c in COMPONENTS)
    labelled = "".join(
        ", coalesce(sum(a.cost) FILTER (WHERE a.bucket = 'workload' AND nullif(o.labels[?::VARCHAR], '') IS NOT NULL), 0)"
        for _ in range(label_keys))
    return f"""
        SELECT a.cluster, a.bucket, {key_sql} AS key, coalesce(o.owner, ''), coalesce(o.team, ''), {outer},
               sum(a.cost), coalesce(sum(a.estimated_cost), 0),
               coalesce(sum(a.pod_hours), 0), coalesce(sum(a.gpu_hours) FILTER (WHERE a.bucket <> 'idle'), 0),
               coalesce(sum(a.cost) FILTER (WHERE a.bucket = 'workload' AND coalesce(o.owner, 'unowned') <> 'unowned'), 0)
               {labelled}
        FROM (SELECT a.cluster, a.bucket, a.namespace, a.workload_kind, a.workload_name, a.node_pool, {sums},
                     sum(a.cost) AS cost, sum(a.cost) FILTER (WHERE a.estimated) AS estimated_cost,
                     sum(a.pod_hours) AS pod_hours, sum(a.gpu_hours) AS gpu_hours
              FROM allocation_hours a
              WHERE {where}
              GROUP BY a.cluster, a.bucket, a.namespace, a.workload_kind, a.workload_name, a.node_pool) a
        LEFT JOIN workload_owners o ON a.bucket = 'workload' AND o.cluster = a.cluster
             AND o.namespace = a.namespace AND o.workload_kind = a.workload_kind AND o.workload_name = a.workload_name
        GROUP BY ALL
        """


def _coverage(records: list[tuple], keys: list[str]) -> tuple[float | None, dict[str, float]]:
    """Owner and label coverage of the workload cost in ``records`` (see ``_window_sql``)."""
    total = sum(r[12] for r in records if r[1] == "workload")
    if not total:
        return None, {}
    owned = sum(r[16] for r in records)
    labelled = [sum(r[17 + i] for r in records) for i in range(len(keys))]
    return round(owned / total, 4), {k: round(v / total, 4) for k, v in zip(keys, labelled)}


def allocate_window(ctx: Context, args: AllocateInput) -> AllocateOutput:
    """Cost of every namespace, workload, owner, team, label value, node pool or cluster in a window.

    Every billed dollar appears exactly once: workloads, ``__idle__`` (per node pool),
    ``__shared__:*`` (platform overhead, or distributed by ``shared_policy``),
    ``__unowned_storage__``, ``__unallocated__`` and services outside any cluster.

    Args:
        ctx: The context (warehouse, settings).
        args: window (7d, 14d, Nd, this-week, all, START..END), by (namespace, workload, owner,
            team, label:KEY, node_pool, cluster), optional cluster, optional shared_policy.

    Returns:
        AllocateOutput with rows sorted by cost (largest first), totals, owner and label
        coverage; status ``no_data`` (with the data range) when the window holds nothing.
    """
    settings = ctx.settings.allocation
    policy = args.shared_policy or settings.shared_policy
    base = dict(by=args.by, cluster=args.cluster, shared_policy=policy, cost_basis=settings.cost_basis, window=args.window)
    if args.cluster is not None and not ctx.db.execute(
            "SELECT 1 FROM allocation_hours WHERE cluster = ? LIMIT 1", [args.cluster]).fetchone():
        known = [r[0] for r in ctx.db.execute(
            "SELECT DISTINCT cluster FROM allocation_hours WHERE cluster <> '' ORDER BY 1").fetchall()]
        return AllocateOutput(status="no_data", data_range=_data_range(ctx), **base,
                              message=f"no allocation for cluster {args.cluster!r}; clusters with data: "
                              f"{', '.join(known) or 'none (run `allot demo` or an ingest first)'}")
    try:
        start, end, label = resolve_window(ctx, args.window, args.cluster)
    except InputError as err:
        status = "no_data" if ("outside the data" in str(err) or "no hourly data" in str(err)) else "error"
        return AllocateOutput(status=status, message=str(err), data_range=_data_range(ctx), **base)
    base["window"] = label
    where, params = "a.hour >= ? AND a.hour < ?", [start, end]
    if args.cluster is not None:
        where += " AND a.cluster = ?"
        params.append(args.cluster)
    key_sql, key_params = _key_expr(args.by)
    label_keys = list(dict.fromkeys(
        list(OWNER_FIELDS) + ([args.by.split(":", 1)[1]] if args.by.startswith("label:") else [])))
    records = ctx.db.execute(_window_sql(where, key_sql, len(label_keys)), key_params + label_keys + params).fetchall()
    if not records:
        return AllocateOutput(status="no_data", start=start, end=end, data_range=_data_range(ctx), **base,
                              message=f"no allocation rows in {label}")
    rows: dict[str, AllocationRow] = {}
    buckets: dict[str, set] = defaultdict(set)
    owners: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    entries: dict[tuple, Entry] = {}
    shared: dict[str, float] = defaultdict(float)
    shared_records = []
    for cluster, bucket, key, owner, team, *vals in records:
        parts = dict(zip(COMPONENTS, vals[:7]))
        cost, estimated, pod_hours, gpu_hours = vals[7:11]
        if bucket == "shared":
            shared[cluster] += cost
            shared_records.append((cluster, key, cost, estimated, pod_hours, gpu_hours))
            continue
        row = rows.setdefault(key, AllocationRow(key=key, cost=0.0))
        buckets[key].add(bucket)
        row.estimated_cost += estimated
        row.pod_hours += pod_hours
        row.gpu_hours += gpu_hours
        if bucket == "idle":
            row.idle_cost += cost
            continue
        for name, value in parts.items():
            setattr(row, name, getattr(row, name) + value)
        if bucket == "workload":
            owners[key][owner] += cost
            entry = entries.setdefault((cluster, key, team), Entry(cluster, key, team or None, 0.0))
            entry.direct += cost
    weights = args.team_weights if args.team_weights is not None else settings.team_weights
    kept = distribute_shared(list(entries.values()), dict(shared), policy, weights)
    for entry in entries.values():
        rows[entry.key].shared_cost += entry.received
    direct_keys = set(rows)
    for cluster, key, cost, estimated, pod_hours, gpu_hours in shared_records:
        if cluster in kept:
            row = rows.setdefault(key, AllocationRow(key=key, cost=0.0))
            buckets[key].add("shared")
            row.shared_cost += cost
            row.estimated_cost += estimated
        elif key not in direct_keys:
            continue        # distributed: its pod-hours belong to no output row (whatever the record order)
        rows[key].pod_hours += pod_hours
        rows[key].gpu_hours += gpu_hours
    for key, row in rows.items():
        row.cost = sum(getattr(row, c) for c in COMPONENTS) + row.shared_cost + row.idle_cost
        row.bucket = next(iter(buckets[key])) if len(buckets[key]) == 1 else "mixed"
        if owners.get(key):
            row.owner = max(owners[key].items(), key=lambda kv: kv[1])[0]
    coverage, labels = _coverage(records, label_keys)
    total = sum(r.cost for r in rows.values())
    estimated_total = sum(r[13] for r in records)
    ordered = sorted(rows.values(), key=lambda r: (-r.cost, r.key))
    return AllocateOutput(status="ok", start=start, end=end, total_cost=total, estimated_cost=estimated_total,
                          billed_cost=total - estimated_total, owner_coverage=coverage, label_coverage=labels,
                          rows=ordered, **base)
