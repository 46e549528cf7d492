"""Node-hour prices and their CPU / memory / GPU split (DESIGN.md rules 2 and 3).

Fills the temp table ``_alloc_node_cost``: one row per ``node_hours`` row with the node
pool, allocatable, the hour's cost and its split, and whether the cost is ``estimated``.

* A billing row of kind ``node`` costs its hour's share (from ``billing_attribution``, in the
  chosen cost basis). When it maps to several nodes present in that hour (an Azure VMSS), the
  cost splits evenly over them (one node-hour each).
* A node-hour with no billing row for its instance in that hour is priced from the price
  table (``tools.allocation.prices``) and marked ``estimated``. Estimated money is never part
  of the billed total; reconcile shows it separately.
* A node billing row in an hour where none of its nodes has node data goes to
  ``__unallocated__`` of the node's cluster (node pool of the node, cost in ``other_cost``).
* Split: the GPU part is ``cost * gpu_share`` on nodes with GPUs (the table's share for the
  instance type, else the GPU part of the fallback rates); the rest splits between CPU and
  memory as ``cpu_weight * vCPU : memory_weight * GiB`` of allocatable (default 9 : 1).
"""

from __future__ import annotations

import duckdb

from tools.allocation.prices import FALLBACK_CPU_HOUR, FALLBACK_GIB_HOUR, FALLBACK_GPU_HOUR, price_rows
from tools.settings import AllocationSettings

GIB = 1073741824.0


def cost_column(settings: AllocationSettings) -> str:
    """The billing_attribution column the chosen cost basis reads."""
    return "billed_cost" if settings.cost_basis == "billed" else "effective_cost"


def load_prices(con: duckdb.DuckDBPyConnection) -> None:
    rows = price_rows()
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _alloc_prices AS "
        "SELECT unnest(?::VARCHAR[]) AS instance_type, unnest(?::DOUBLE[]) AS hourly, unnest(?::DOUBLE[]) AS gpu_share",
        [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
    )


def build_node_costs(con: duckdb.DuckDBPyConnection, settings: AllocationSettings) -> None:
    """Create ``_alloc_node_cost`` and ``_alloc_node_unallocated``."""
    load_prices(con)
    cost = cost_column(settings)
    wc, wm = float(settings.cpu_weight), float(settings.memory_weight)
    fallback = f"(nh.cpu * {FALLBACK_CPU_HOUR} + nh.mem_gib * {FALLBACK_GIB_HOUR} + nh.gpu * {FALLBACK_GPU_HOUR})"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_node_bill AS
        SELECT lower(coalesce(resource_id, '')) AS rid_l, cluster, hour, sum({cost}) AS cost
        FROM billing_attribution WHERE kind = 'node'
        GROUP BY ALL
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_node_cost AS
        WITH nh AS (
            SELECT h.cluster, h.node, h.hour,
                   h.cpu_allocatable AS cpu, h.memory_allocatable / {GIB} AS mem_gib, h.gpu_allocatable AS gpu,
                   coalesce(nullif(n.node_pool, ''), 'default') AS node_pool, lower(n.instance_type) AS instance_type
            FROM node_hours h LEFT JOIN nodes n ON n.cluster = h.cluster AND n.node = h.node
        ),
        present AS (
            SELECT m.rid_l, nh.cluster, nh.node, nh.hour
            FROM _alloc_node_map m JOIN nh ON nh.cluster = m.cluster AND nh.node = m.node
        ),
        per_node AS (
            SELECT p.cluster, p.node, p.hour, sum(b.cost / c.n) AS cost
            FROM present p
            JOIN _alloc_node_bill b ON b.rid_l = p.rid_l AND b.hour = p.hour
            JOIN (SELECT rid_l, hour, count(*) AS n FROM present GROUP BY rid_l, hour) c
              ON c.rid_l = p.rid_l AND c.hour = p.hour
            GROUP BY p.cluster, p.node, p.hour
        ),
        priced AS (
            SELECT nh.*,
                   pn.cost IS NULL AS estimated,
                   coalesce(pn.cost, pr.hourly, {fallback}) AS cost,
                   CASE WHEN nh.gpu > 0 THEN coalesce(pr.gpu_share,
                        nh.gpu * {FALLBACK_GPU_HOUR} / nullif({fallback}, 0), 0) ELSE 0 END AS gpu_share
            FROM nh
            LEFT JOIN per_node pn ON pn.cluster = nh.cluster AND pn.node = nh.node AND pn.hour = nh.hour
            LEFT JOIN _alloc_prices pr ON pr.instance_type = nh.instance_type
        )
        SELECT cluster, node, hour, node_pool, estimated, cpu, mem_gib, gpu, cost,
               cost * gpu_share AS gpu_cost,
               CASE WHEN {wc} * cpu + {wm} * mem_gib > 0
                    THEN cost * (1 - gpu_share) * ({wc} * cpu) / ({wc} * cpu + {wm} * mem_gib)
                    ELSE cost * (1 - gpu_share) END AS cpu_cost,
               CASE WHEN {wc} * cpu + {wm} * mem_gib > 0
                    THEN cost * (1 - gpu_share) * ({wm} * mem_gib) / ({wc} * cpu + {wm} * mem_gib)
                    ELSE 0 END AS memory_cost
        FROM priced
        """
    )
    # Node billing hours with none of the billed nodes present: cost that cannot be traced.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_node_unallocated AS
        SELECT b.cluster, b.hour, coalesce(p.node_pool, '') AS node_pool, sum(b.cost) AS cost
        FROM _alloc_node_bill b
        LEFT JOIN (SELECT m.rid_l, min(n.node_pool) AS node_pool
                   FROM _alloc_node_map m JOIN nodes n ON n.cluster = m.cluster AND n.node = m.node
                   GROUP BY m.rid_l) p ON p.rid_l = b.rid_l
        WHERE NOT EXISTS (
            SELECT 1 FROM _alloc_node_map m2
            JOIN node_hours h ON h.cluster = m2.cluster AND h.node = m2.node
            WHERE m2.rid_l = b.rid_l AND h.hour = b.hour)
        GROUP BY b.cluster, b.hour, coalesce(p.node_pool, '')
        """
    )
