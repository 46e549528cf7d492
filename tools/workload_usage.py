"""Tool ``workload_usage``: replicas, pod-hours, requests vs usage, cost and owners per key.

Over ``pod_hours`` in a window, per namespace or per workload (top controller):

* pod-hours = sum of the running fraction; concurrent pods per hour = the same sum per
  hour; ``replicas_avg`` is its mean over the hours the key ran, ``replicas_max`` its maximum;
* per resource, the per-pod-hour request and usage at p50, p95 and max (CPU in cores, memory
  in GiB, GPU in GPUs; GPU usage = request x DCGM engine activity). Usage that was not
  measured (NULL) is left out of the percentiles and counted: ``measured_share`` says how
  much of the pod-hours it covers, and ``usage_*`` is None (unknown, not zero) when nothing
  was measured;
* allocated cost from ``allocation_hours`` (None when no allocation rows: not $0);
* owner, team and labels from ``workload_owners``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tools.context import Context
from tools.errors import ToolRetry
from tools.windows import Window, parse_window

GIB = 1073741824.0
_RESOURCES = {
    # name: (request expression, usage expression) per pod-hour, in display units
    "cpu": ("cpu_request", "cpu_usage"),
    "memory": (f"memory_request / {GIB}", f"memory_usage / {GIB}"),
    "gpu": ("gpu_request", "gpu_request * gpu_util"),
}


class UsageInput(BaseModel):
    """Which cluster, window and grouping."""

    cluster: str = Field(description="Cluster name as stored in the warehouse.")
    window: str = Field("this-week", description="Window: this-week, previous-week, last-30d, 2026-W47, A..B, all.")
    by: Literal["namespace", "workload"] = Field("namespace", description="Group by namespace or workload.")
    namespace: str | None = Field(None, description="Only this namespace.")


class ResourceUsage(BaseModel):
    """Per pod-hour request and usage of one resource (cores, GiB or GPUs)."""

    request_p50: float
    request_p95: float
    request_max: float
    usage_p50: float | None = Field(description="None when usage was never measured (unknown, not zero).")
    usage_p95: float | None
    usage_max: float | None
    measured_share: float = Field(description="Share of pod-hours with a usage measurement, 0..1.")
    note: str | None = None


class UsageRow(BaseModel):
    key: str
    namespace: str
    workload_kind: str | None = None
    workload_name: str | None = None
    pod_hours: float
    active_hours: int
    replicas_avg: float
    replicas_max: float
    cpu: ResourceUsage
    memory: ResourceUsage
    gpu: ResourceUsage | None = Field(None, description="None when no pod-hour requested a GPU.")
    allocated_cost: float | None = Field(None, description="From allocation_hours; None when not allocated.")
    owner: str | None = None
    team: str | None = None
    owners: list[str] = Field(default_factory=list, description="Every owner among the key's workloads.")
    owner_labels: dict[str, str] = Field(default_factory=dict)


class UsageOutput(BaseModel):
    status: Literal["ok", "no_data", "error"]
    reason: str | None = None
    cluster: str
    window: Window
    by: str
    rows: list[UsageRow] = Field(default_factory=list)
    caveats: list[str] = Field(default_factory=list)


def _stats_sql() -> str:
    parts = []
    for name, (req, use) in _RESOURCES.items():
        only = " FILTER (WHERE gpu_request > 0)" if name == "gpu" else ""  # GPU stats over GPU pod-hours
        parts += [
            f"quantile_cont({req}, 0.5){only} AS {name}_req_p50", f"quantile_cont({req}, 0.95){only} AS {name}_req_p95",
            f"max({req}){only} AS {name}_req_max", f"quantile_cont({use}, 0.5){only} AS {name}_use_p50",
            f"quantile_cont({use}, 0.95){only} AS {name}_use_p95", f"max({use}){only} AS {name}_use_max",
            f"count({use}){only} AS {name}_measured",
        ]
    parts.append("count(*) FILTER (WHERE gpu_request > 0) AS gpu_pods")
    parts.append("count(*) FILTER (WHERE gpu_request > 0 AND gpu_util IS NOT NULL) AS gpu_req_measured")
    return ",\n".join(parts)


def _resource(values: dict, name: str, measured: int, total: int) -> ResourceUsage:
    note = None
    if measured == 0:
        note = "usage not measured: unknown"
    elif measured < total:
        note = f"usage measured for {measured} of {total} pod-hours"
    return ResourceUsage(
        request_p50=values[f"{name}_req_p50"] or 0.0, request_p95=values[f"{name}_req_p95"] or 0.0,
        request_max=values[f"{name}_req_max"] or 0.0,
        usage_p50=values[f"{name}_use_p50"], usage_p95=values[f"{name}_use_p95"], usage_max=values[f"{name}_use_max"],
        measured_share=measured / total if total else 0.0, note=note,
    )


def workload_usage(ctx: Context, args: UsageInput) -> UsageOutput:
    """Replicas, pod-hours, requests vs usage (CPU, memory, GPU at p50/p95/max), cost and owners.

    Args:
        ctx: Warehouse context.
        args: Cluster, window, grouping (namespace or workload) and optional namespace filter.

    Returns:
        One row per namespace or workload, largest pod-hours first; status no_data (with the
        reason) when no pod ran in the window (or namespace).

    Raises:
        ToolRetry: Unknown cluster (carries the clusters with pod data).
    """
    known = [r[0] for r in ctx.db.execute("SELECT DISTINCT cluster FROM pod_hours ORDER BY 1").fetchall()]
    if args.cluster not in known:
        raise ToolRetry(f"cluster {args.cluster!r} has no pod data; known clusters: {', '.join(known) or 'none'}",
                        valid=known)
    window = parse_window(ctx, args.window, cluster=args.cluster)
    out = UsageOutput(status="ok", cluster=args.cluster, window=window, by=args.by)
    keys = "namespace" if args.by == "namespace" else "namespace, workload_kind, workload_name"
    ns_filter = "AND namespace = ?" if args.namespace is not None else ""
    params = [args.cluster, window.start, window.end] + ([args.namespace] if args.namespace is not None else [])
    cur = ctx.db.execute(
        f"""
        WITH ph AS (
            SELECT * FROM pod_hours WHERE cluster = ? AND hour >= ? AND hour < ? {ns_filter}
        ),
        per_hour AS (SELECT {keys}, hour, sum(fraction) AS pods FROM ph GROUP BY ALL),
        conc AS (SELECT {keys}, avg(pods) AS replicas_avg, max(pods) AS replicas_max, count(*) AS active_hours
                 FROM per_hour GROUP BY ALL)
        SELECT s.*, c.replicas_avg, c.replicas_max, c.active_hours FROM (
            SELECT {keys}, sum(fraction) AS pod_hours, count(*) AS n, {_stats_sql()}
            FROM ph GROUP BY ALL
        ) s JOIN conc c USING ({keys})
        ORDER BY s.pod_hours DESC, 1
        """,
        params,
    )
    names = [d[0] for d in cur.description]
    found = [dict(zip(names, r)) for r in cur.fetchall()]
    if not found:
        where = f" in namespace {args.namespace!r}" if args.namespace is not None else ""
        out.status = "no_data"
        out.reason = f"no pod ran{where} in cluster {args.cluster!r} during {window.describe()}"
        return out

    cost_rows = ctx.db.execute(
        f"SELECT {keys}, sum(cost) FROM allocation_hours WHERE cluster = ? AND hour >= ? AND hour < ? "
        f"AND bucket IN ('workload', 'shared') AND namespace <> '' GROUP BY ALL",
        [args.cluster, window.start, window.end],
    ).fetchall()
    costs = {tuple(r[:-1]): r[-1] for r in cost_rows}
    owners: dict[tuple, list[tuple]] = {}
    for ns, kind, name, owner, team, labels in ctx.db.execute(
        "SELECT namespace, workload_kind, workload_name, owner, team, labels FROM workload_owners WHERE cluster = ?",
        [args.cluster],
    ).fetchall():
        key = (ns,) if args.by == "namespace" else (ns, kind, name)
        owners.setdefault(key, []).append((owner, team, dict(labels or {})))

    unmeasured = 0
    for v in found:
        key = (v["namespace"],) if args.by == "namespace" else (v["namespace"], v["workload_kind"], v["workload_name"])
        n = v["n"]
        gpu = None
        if v["gpu_pods"]:
            gpu = _resource(v, "gpu", v["gpu_req_measured"], v["gpu_pods"])
        found_owners = owners.get(key, [])
        first = found_owners[0] if len(found_owners) == 1 else None
        if v["cpu_measured"] == 0:
            unmeasured += 1
        out.rows.append(UsageRow(
            key="/".join(key), namespace=v["namespace"], workload_kind=v.get("workload_kind"),
            workload_name=v.get("workload_name"), pod_hours=v["pod_hours"], active_hours=v["active_hours"],
            replicas_avg=v["replicas_avg"], replicas_max=v["replicas_max"],
            cpu=_resource(v, "cpu", v["cpu_measured"], n), memory=_resource(v, "memory", v["memory_measured"], n),
            gpu=gpu, allocated_cost=costs.get(key),
            owner=first[0] if first else None, team=first[1] if first else None,
            owners=sorted({o[0] for o in found_owners}), owner_labels=first[2] if first else {},
        ))
    if unmeasured:
        out.caveats.append(f"{unmeasured} of {len(out.rows)} rows have no CPU usage measurement (unknown, not zero)")
    return out
