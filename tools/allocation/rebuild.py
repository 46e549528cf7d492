"""``rebuild_allocation``: recompute billing_attribution, allocation_hours and workload_owners.

The whole warehouse is recomputed in one transaction (all or nothing), as a fixed sequence
of set-based SQL steps; ``pod_hours`` is scanned twice for the charges (per node-hour, then per
workload) and once, joined to ``pod_volumes``, for volume mounts. The steps and their rules live in their modules:

1. ``attribution``   bill rows -> cluster, kind, hour (billing_attribution)
2. ``node_costs``    node-hour price (billed or estimated) and CPU/memory/GPU split
3. ``pod_costs``     pod charges max(request, usage), idle per node pool
4. ``cluster_costs`` volumes, load balancers, network, logging, control plane, other, external
5. ``buckets``       parts -> buckets (shared namespaces, DaemonSets) -> allocation_hours
6. ``owners``        owner labels per workload -> workload_owners

Caveats (estimated nodes, pods on unknown nodes, unmeasured network or log volume,
untraceable cost) are written to ``data_caveats`` with source ``allocation``.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

import duckdb
from pydantic import BaseModel, Field

from tools.allocation.attribution import build_billing_attribution
from tools.allocation.buckets import insert_parts
from tools.allocation.cluster_costs import (
    fixed_parts,
    load_balancer_parts,
    network_parts,
    observability_parts,
    volume_parts,
)
from tools.allocation.node_costs import build_node_costs, cost_column
from tools.allocation.owners import build_workload_owners, load_owner_patterns
from tools.allocation.pod_costs import (
    build_node_rates,
    idle_parts,
    insert_pod_allocation,
    unknown_node_pod_hours,
)
from tools.context import Context
from tools.progress import ProgressCallback, no_progress

log = logging.getLogger(__name__)

TEMP_TABLES = (
    "_alloc_resources", "_alloc_node_map", "_alloc_pv_map", "_alloc_lb_map", "_alloc_cluster_ids",
    "_alloc_targets", "_alloc_prices", "_alloc_node_bill", "_alloc_node_cost", "_alloc_node_unallocated",
    "_alloc_node_rate", "_alloc_pools", "_alloc_node_use", "_alloc_mounts", "_alloc_volume_cost",
    "_alloc_owner_patterns",
)


class AllocationSummary(BaseModel):
    """What a rebuild produced: totals in the chosen cost basis, and the caveats."""

    cost_basis: str = Field(description="effective (EffectiveCost) or billed (BilledCost)")
    billed_total: float = Field(description="the bill's total in the cost basis")
    allocated_total: float = Field(description="allocation_hours total priced from the bill")
    estimated_total: float = Field(description="allocation_hours total priced from the price table")
    difference: float = Field(description="allocated_total - billed_total")
    first_hour: datetime | None = None
    last_hour: datetime | None = None
    clusters: list[str] = Field(default_factory=list)
    rows: dict[str, int] = Field(default_factory=dict, description="rows written per table")
    pod_hours: float = Field(0.0, description="running pod-hours allocated")
    caveats: list[str] = Field(default_factory=list)
    seconds: float = 0.0
    timings: dict[str, float] = Field(default_factory=dict, description="seconds per step")


def _begin(con: duckdb.DuckDBPyConnection) -> bool:
    """Start a transaction unless the caller already holds one; True when we own it."""
    try:
        con.execute("BEGIN TRANSACTION")
        return True
    except duckdb.TransactionException:
        return False


def _caveats(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for cluster, nodes, hours, cost, names in con.execute(
        """
        SELECT cluster, count(DISTINCT node), count(*), sum(cost), string_agg(DISTINCT node, ', ' ORDER BY node)
        FROM _alloc_node_cost WHERE estimated GROUP BY cluster ORDER BY cluster
        """
    ).fetchall():
        shown = names if len(names) <= 200 else names[:200] + "..."
        out.append((cluster, "node_unbilled",
                    f"{nodes} node(s) had no billing row for {hours} node-hour(s); priced from the on-demand "
                    f"price table as estimated ({cost:.2f}), not part of the billed total: {shown}"))
    for cluster, pod_hours in unknown_node_pod_hours(con):
        out.append((cluster, "pod_on_unknown_node",
                    f"{pod_hours:.1f} pod-hour(s) ran on nodes with no node data; priced estimated at fallback rates"))
    for code, name, what in (("no_network_metric", "__shared__:network", "pod network_tx_bytes"),
                             ("no_log_metric", "__shared__:observability", "namespace log bytes")):
        for cluster, hours, cost in con.execute(
            "SELECT cluster, count(DISTINCT hour), sum(cost) FROM allocation_hours WHERE workload_name = ? "
            "GROUP BY cluster ORDER BY cluster", [name]
        ).fetchall():
            out.append((cluster, code, f"{hours} hour(s) without {what}: {cost:.2f} kept as {name}"))
    for cluster, cost in con.execute(
        "SELECT cluster, sum(cost) FROM allocation_hours WHERE bucket = 'unallocated' GROUP BY cluster ORDER BY cluster"
    ).fetchall():
        out.append((cluster, "unallocated_cost",
                    f"{cost:.2f} of cluster cost could not be traced to a node, volume, Service or pod "
                    "(__unallocated__)"))
    return out


def _ensure_amended_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Warehouses created before migration 0004 was amended (pre-release) lack two columns."""
    present = set(con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal "
        "AND (table_name, column_name) IN (('allocation_hours', 'network_tx_bytes'), "
        "('billing_attribution', 'resource_name'))").fetchall())
    for table, column in (("allocation_hours", "network_tx_bytes"), ("billing_attribution", "resource_name")):
        if (table, column) not in present:
            log.warning("adding %s.%s to a warehouse created before migration 0004 had it", table, column)
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {'DOUBLE' if column == 'network_tx_bytes' else 'VARCHAR'}")


STEPS = ("attribution", "node_costs", "node_rates", "pod_allocation", "cluster_costs", "allocation_hours",
         "owners", "caveats", "commit")


def rebuild_allocation(ctx: Context, progress: ProgressCallback = no_progress) -> AllocationSummary:
    """Recompute billing_attribution, allocation_hours and workload_owners from the warehouse;
    ``progress`` hears of each of the :data:`STEPS` as it ends (``commit`` only when the
    rebuild owns its transaction)."""
    started = time.perf_counter()
    con = ctx.db
    settings = ctx.settings.allocation
    patterns = load_owner_patterns(settings.owners_file)
    cost = cost_column(settings)
    _ensure_amended_columns(con)
    owns = _begin(con)
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round(now - mark, 3)
        mark = now
        progress(f"allocation: {name.replace('_', ' ')}", STEPS.index(name) + 1, len(STEPS))

    try:
        rows = {"billing_attribution": build_billing_attribution(con)}
        step("attribution")
        build_node_costs(con, settings)
        step("node_costs")
        build_node_rates(con)
        step("node_rates")
        con.execute("DELETE FROM allocation_hours")
        written = insert_pod_allocation(con, settings)
        step("pod_allocation")
        parts = [volume_parts(con, cost), load_balancer_parts(cost), network_parts(cost),
                 observability_parts(cost), fixed_parts(cost)]
        step("cluster_costs")
        rows["allocation_hours"] = written + insert_parts(con, settings, idle_parts(), parts)
        step("allocation_hours")
        rows["workload_owners"] = build_workload_owners(con, patterns)
        step("owners")
        caveats = _caveats(con)
        con.execute("DELETE FROM data_caveats WHERE source = 'allocation'")
        if caveats:
            now = ctx.clock()
            con.executemany(
                "INSERT INTO data_caveats VALUES (?, 'allocation', ?, ?, ?)",
                [[cluster, code, message, now] for cluster, code, message in caveats],
            )
        for table in TEMP_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
        step("caveats")
    except BaseException:
        if owns:
            con.execute("ROLLBACK")
        raise
    if owns:
        con.execute("COMMIT")
        step("commit")
    billed = con.execute(f"SELECT coalesce(sum({cost}), 0) FROM billing_rows").fetchone()[0]
    allocated, estimated, first, last, pod_hours, clusters = con.execute(
        """
        SELECT coalesce(sum(cost) FILTER (WHERE NOT estimated), 0), coalesce(sum(cost) FILTER (WHERE estimated), 0),
               min(hour), max(hour), coalesce(sum(pod_hours), 0),
               coalesce(list(DISTINCT cluster ORDER BY cluster) FILTER (WHERE cluster <> ''), [])
        FROM allocation_hours
        """
    ).fetchall()[0]   # fetchall closes the result: the connection is free for the caller's next statement
    summary = AllocationSummary(
        cost_basis=settings.cost_basis, billed_total=billed, allocated_total=allocated,
        estimated_total=estimated, difference=allocated - billed, first_hour=first, last_hour=last,
        clusters=clusters, rows=rows, pod_hours=pod_hours,
        caveats=[f"{cluster or 'bill'}: {message}" for cluster, _, message in caveats],
        seconds=round(time.perf_counter() - started, 3), timings=timings,
    )
    log.info("allocation rebuilt: %s rows, billed %.2f, allocated %.2f, estimated %.2f in %.2fs",
             rows.get("allocation_hours"), billed, allocated, estimated, summary.seconds)
    return summary
