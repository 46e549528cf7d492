"""Pod charges and node idle (DESIGN.md rule 4), in two passes over ``pod_hours``.

* A pod pays, per resource and hour, for ``max(request, usage) * fraction`` (CPU cores,
  memory GiB; usage NULL counts as not measured, so the request is charged) and for
  ``gpu_request * fraction`` GPUs. ``fraction`` is the running share of the hour.
* The node's CPU (memory, GPU) cost of the hour is divided by its allocatable: a pod pays
  ``node_cpu_cost * charged / allocatable``. When the pods on a node together are charged
  more than allocatable (usage above requests, or stale allocatable), every pod's charge is
  scaled by ``allocatable / sum(charged)``: the node's cost is paid exactly and idle is 0.
  So each node-hour has one *rate* per resource, ``cost / max(allocatable, sum(charged))``.
* Pass 1 sums the charged quantities per node-hour (few groups); pass 2 joins every pod-hour
  to its node-hour's rates (a small hash table) and groups straight to the allocation grain
  (workload, node pool, hour). No per-pod intermediate is materialised.
* What the pods do not pay is ``__idle__`` of the node pool, never negative.
* A pod-hour on a node with no node data in that hour (a node unknown to the warehouse) is
  still allocated: priced ``estimated`` at the fallback rates of ``tools.allocation.prices``
  (node pool from ``nodes`` when known, else ``''``), and reported as a caveat.
"""

from __future__ import annotations

import duckdb

from tools.allocation.prices import FALLBACK_CPU_HOUR, FALLBACK_GIB_HOUR, FALLBACK_GPU_HOUR

GIB = 1073741824.0


_CPU_CHARGED = "CASE WHEN cpu_usage > cpu_request THEN cpu_usage ELSE cpu_request END * fraction"
_MEM_CHARGED = f"CASE WHEN memory_usage > memory_request THEN memory_usage ELSE memory_request END * fraction / {GIB}"


def build_pod_aggregate(con: duckdb.DuckDBPyConnection) -> None:
    """Pass 1 and 2: ``_alloc_node_use`` (charged per node-hour), ``_alloc_node_rate`` and
    ``_alloc_pod_rows`` (pod cost and quantities per workload, node pool, hour and estimated)."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_node_use AS
        SELECT cluster, hour, node, sum({_CPU_CHARGED}) AS s_cpu, sum({_MEM_CHARGED}) AS s_mem,
               sum(gpu_request * fraction) AS s_gpu, sum(fraction) AS pod_hours
        FROM pod_hours GROUP BY cluster, hour, node
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_node_rate AS
        SELECT u.cluster, u.hour, u.node,
               coalesce(n.node_pool, nullif(kn.node_pool, ''), '') AS node_pool,
               coalesce(n.estimated, TRUE) AS estimated,
               CASE WHEN n.node IS NULL THEN {FALLBACK_CPU_HOUR}
                    ELSE coalesce(n.cpu_cost / nullif(greatest(n.cpu, u.s_cpu), 0), 0) END AS cpu_rate,
               CASE WHEN n.node IS NULL THEN {FALLBACK_GIB_HOUR}
                    ELSE coalesce(n.memory_cost / nullif(greatest(n.mem_gib, u.s_mem), 0), 0) END AS mem_rate,
               CASE WHEN n.node IS NULL THEN {FALLBACK_GPU_HOUR}
                    ELSE coalesce(n.gpu_cost / nullif(greatest(n.gpu, u.s_gpu), 0), 0) END AS gpu_rate
        FROM _alloc_node_use u
        LEFT JOIN _alloc_node_cost n ON n.cluster = u.cluster AND n.node = u.node AND n.hour = u.hour
        LEFT JOIN nodes kn ON kn.cluster = u.cluster AND kn.node = u.node
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_pod_rows AS
        SELECT p.cluster, p.hour, p.namespace, p.workload_kind, p.workload_name, r.node_pool, r.estimated,
               sum({_CPU_CHARGED} * r.cpu_rate) AS cpu_cost,
               sum({_MEM_CHARGED} * r.mem_rate) AS memory_cost,
               sum(gpu_request * fraction * r.gpu_rate) AS gpu_cost,
               sum(fraction) AS pod_hours,
               sum(cpu_request * fraction) AS cpu_request_hours,
               sum(memory_request * fraction) / {GIB} AS memory_request_gib_hours,
               sum(cpu_usage * fraction) AS cpu_usage_hours,
               sum(memory_usage * fraction) / {GIB} AS memory_usage_gib_hours,
               sum({_CPU_CHARGED}) AS cpu_charged_hours,
               sum({_MEM_CHARGED}) AS memory_charged_gib_hours,
               sum(gpu_request * fraction) AS gpu_hours,
               sum(CASE WHEN network_tx_bytes > 0 THEN network_tx_bytes END) AS tx
        FROM pod_hours p
        JOIN _alloc_node_rate r ON r.cluster = p.cluster AND r.node = p.node AND r.hour = p.hour
        GROUP BY p.cluster, p.hour, p.namespace, p.workload_kind, p.workload_name, r.node_pool, r.estimated
        """
    )


def pod_parts_sql() -> str:
    """Workload parts from ``_alloc_pod_rows`` (columns of ``_alloc_parts``)."""
    return """
        SELECT cluster, hour, CAST(NULL AS VARCHAR) AS special, namespace, workload_kind, workload_name,
               node_pool, estimated, cpu_cost, memory_cost, gpu_cost,
               0.0 AS storage_cost, 0.0 AS network_cost, 0.0 AS observability_cost, 0.0 AS other_cost,
               pod_hours, cpu_request_hours, memory_request_gib_hours, cpu_usage_hours, memory_usage_gib_hours,
               cpu_charged_hours, memory_charged_gib_hours, gpu_hours
        FROM _alloc_pod_rows
    """


def _share(part: str, charged: str, alloc: str, used: str) -> str:
    """The part of a node's ``part`` cost that ``charged`` pays, scaled when oversubscribed."""
    return (
        f"coalesce(n.{part} * {charged} / nullif(CASE WHEN {used} > {alloc} THEN {used} ELSE {alloc} END, 0), 0)"
    )


def insert_idle_parts(con: duckdb.DuckDBPyConnection) -> None:
    """Idle parts (one per node-hour): what the pods on the node did not pay."""
    con.execute(
        f"""
        INSERT INTO _alloc_parts
        SELECT n.cluster, n.hour, 'idle', '', '', '__idle__', n.node_pool, n.estimated,
               n.cpu_cost - {_share('cpu_cost', 'u.s_cpu', 'n.cpu', 'u.s_cpu')},
               n.memory_cost - {_share('memory_cost', 'u.s_mem', 'n.mem_gib', 'u.s_mem')},
               n.gpu_cost - {_share('gpu_cost', 'u.s_gpu', 'n.gpu', 'u.s_gpu')},
               0, 0, 0, 0,
               NULL, NULL, NULL, NULL, NULL,
               greatest(n.cpu - coalesce(u.s_cpu, 0), 0),
               greatest(n.mem_gib - coalesce(u.s_mem, 0), 0),
               greatest(n.gpu - coalesce(u.s_gpu, 0), 0)
        FROM _alloc_node_cost n
        LEFT JOIN _alloc_node_use u ON u.cluster = n.cluster AND u.node = n.node AND u.hour = n.hour
        """
    )


def unknown_node_pod_hours(con: duckdb.DuckDBPyConnection) -> list[tuple[str, float]]:
    """(cluster, pod-hours) scheduled on nodes with no node data in that hour."""
    return con.execute(
        """
        SELECT u.cluster, sum(u.pod_hours)
        FROM _alloc_node_use u
        LEFT JOIN _alloc_node_cost n ON n.cluster = u.cluster AND n.node = u.node AND n.hour = u.hour
        WHERE n.node IS NULL GROUP BY u.cluster ORDER BY u.cluster
        """
    ).fetchall()
