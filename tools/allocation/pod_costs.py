"""Pod charges and node idle (DESIGN.md rule 4), in one pass over ``pod_hours``.

* A pod pays, per resource and hour, for ``max(request, usage) * fraction`` (CPU cores,
  memory GiB; usage NULL counts as not measured, so the request is charged) and for
  ``gpu_request * fraction`` GPUs. ``fraction`` is the running share of the hour.
* The node's CPU (memory, GPU) cost of the hour is divided by its allocatable: a pod pays
  ``node_cpu_cost * charged / allocatable``. When the pods on a node together are charged
  more than allocatable (usage above requests, or stale allocatable), every pod's charge is
  scaled by ``allocatable / sum(charged)``: the node's cost is paid exactly and idle is 0.
  Because the charge is linear in ``charged``, pods are first summed per workload and node
  (one ``GROUP BY`` over ``pod_hours``, the only full scan) and priced afterwards.
* What the pods do not pay is ``__idle__`` of the node pool, never negative.
* A pod-hour on a node with no node data in that hour (a node unknown to the warehouse) is
  still allocated: priced ``estimated`` at the fallback rates of ``tools.allocation.prices``
  (node pool from ``nodes`` when known, else ``''``), and reported as a caveat.
"""

from __future__ import annotations

import duckdb

from tools.allocation.prices import FALLBACK_CPU_HOUR, FALLBACK_GIB_HOUR, FALLBACK_GPU_HOUR

GIB = 1073741824.0


def build_pod_aggregate(con: duckdb.DuckDBPyConnection) -> None:
    """``_alloc_pod_agg``: pod-hours summed per cluster, hour, node and workload."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_pod_agg AS
        SELECT cluster, hour, node, namespace, workload_kind, workload_name,
               sum(fraction) AS pod_hours,
               sum(cpu_request * fraction) AS cpu_req,
               sum(memory_request * fraction) / {GIB} AS mem_req,
               sum(cpu_usage * fraction) AS cpu_use,
               sum(memory_usage * fraction) / {GIB} AS mem_use,
               sum(CASE WHEN cpu_usage > cpu_request THEN cpu_usage ELSE cpu_request END * fraction) AS cpu_chg,
               sum(CASE WHEN memory_usage > memory_request THEN memory_usage ELSE memory_request END * fraction)
                   / {GIB} AS mem_chg,
               sum(gpu_request * fraction) AS gpu_chg,
               sum(network_tx_bytes) AS tx
        FROM pod_hours
        GROUP BY cluster, hour, node, namespace, workload_kind, workload_name
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE _alloc_node_use AS
        SELECT cluster, hour, node, sum(cpu_chg) AS s_cpu, sum(mem_chg) AS s_mem, sum(gpu_chg) AS s_gpu
        FROM _alloc_pod_agg GROUP BY cluster, hour, node
        """
    )


def _share(part: str, charged: str, alloc: str, used: str) -> str:
    """The part of a node's ``part`` cost that ``charged`` pays, scaled when oversubscribed."""
    return (
        f"coalesce(n.{part} * {charged} / nullif(CASE WHEN {used} > {alloc} THEN {used} ELSE {alloc} END, 0), 0)"
    )


def insert_pod_parts(con: duckdb.DuckDBPyConnection) -> None:
    """Workload parts (one per workload, node and hour) and idle parts (one per node-hour)."""
    con.execute(
        f"""
        INSERT INTO _alloc_parts
        SELECT a.cluster, a.hour, NULL, a.namespace, a.workload_kind, a.workload_name,
               coalesce(n.node_pool, kn.node_pool, ''), coalesce(n.estimated, TRUE),
               CASE WHEN n.node IS NULL THEN a.cpu_chg * {FALLBACK_CPU_HOUR}
                    ELSE {_share('cpu_cost', 'a.cpu_chg', 'n.cpu', 'u.s_cpu')} END,
               CASE WHEN n.node IS NULL THEN a.mem_chg * {FALLBACK_GIB_HOUR}
                    ELSE {_share('memory_cost', 'a.mem_chg', 'n.mem_gib', 'u.s_mem')} END,
               CASE WHEN n.node IS NULL THEN a.gpu_chg * {FALLBACK_GPU_HOUR}
                    ELSE {_share('gpu_cost', 'a.gpu_chg', 'n.gpu', 'u.s_gpu')} END,
               0, 0, 0, 0,
               a.pod_hours, a.cpu_req, a.mem_req, a.cpu_use, a.mem_use, a.cpu_chg, a.mem_chg, a.gpu_chg
        FROM _alloc_pod_agg a
        JOIN _alloc_node_use u ON u.cluster = a.cluster AND u.node = a.node AND u.hour = a.hour
        LEFT JOIN _alloc_node_cost n ON n.cluster = a.cluster AND n.node = a.node AND n.hour = a.hour
        LEFT JOIN nodes kn ON kn.cluster = a.cluster AND kn.node = a.node
        """
    )
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
        SELECT a.cluster, sum(a.pod_hours)
        FROM _alloc_pod_agg a
        LEFT JOIN _alloc_node_cost n ON n.cluster = a.cluster AND n.node = a.node AND n.hour = a.hour
        WHERE n.node IS NULL GROUP BY a.cluster ORDER BY a.cluster
        """
    ).fetchall()
