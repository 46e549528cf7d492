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
  to its node-hour's rates (a small hash table) and groups straight into ``allocation_hours``
  (bucket, workload, node pool, hour). No per-pod intermediate is materialised.
* What the pods do not pay is ``__idle__`` of the node pool, never negative (for a node-hour
  whose billed cost is itself negative, a refund on the instance, idle carries that sign).
* A pod-hour on a node with no node data in that hour (a node unknown to the warehouse) is
  still allocated: priced ``estimated`` at the fallback rates of ``tools.allocation.prices``
  (node pool from ``nodes`` when known, else ``''``), and reported as a caveat.
"""

from __future__ import annotations

import duckdb

from tools.allocation.buckets import shared_namespace_test
from tools.allocation.prices import FALLBACK_CPU_HOUR, FALLBACK_GIB_HOUR, FALLBACK_GPU_HOUR
from tools.settings import AllocationSettings

GIB = 1073741824.0


_CPU_CHARGED = "CASE WHEN cpu_usage > cpu_request THEN cpu_usage ELSE cpu_request END * fraction"
_MEM_CHARGED = f"CASE WHEN memory_usage > memory_request THEN memory_usage ELSE memory_request END * fraction / {GIB}"


def build_node_rates(con: duckdb.DuckDBPyConnection) -> None:
    """Pass 1: ``_alloc_node_use`` (charged per node-hour) and ``_alloc_node_rate``, whose
    (node pool, estimated) pair is also numbered as ``pool_id`` (``_alloc_pools``), so that
    pass 2 groups on one integer instead of a string and a flag."""
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
        WITH r AS (
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
        )
        SELECT *, dense_rank() OVER (ORDER BY node_pool, estimated) AS pool_id FROM r
        """
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _alloc_pools AS "
                "SELECT DISTINCT pool_id, node_pool, estimated FROM _alloc_node_rate")


def insert_pod_allocation(con: duckdb.DuckDBPyConnection, settings: AllocationSettings) -> int:
    """Pass 2: every pod-hour priced at its node-hour's rates and grouped straight into
    ``allocation_hours`` per bucket, workload, node pool and hour.

    Shared workloads are grouped under constant keys (kind ``''``, name ``''`` for a shared
    namespace, ``__shared__:daemonsets`` for DaemonSets) so that no string is built per row;
    the names are completed on the grouped rows. Returns the rows written.
    """
    shared_ns = shared_namespace_test(settings, "p")
    ds = "p.workload_kind = 'DaemonSet'" if settings.daemonsets_shared else "FALSE"
    return con.execute(
        f"""
        INSERT INTO allocation_hours
        WITH flagged AS (
            SELECT p.*, {shared_ns} AS in_shared_ns, {ds} AS shared_ds FROM pod_hours p
        ),
        priced AS (
            SELECT p.cluster, p.hour, p.namespace,
                   CASE WHEN in_shared_ns OR shared_ds THEN '' ELSE p.workload_kind END AS workload_kind,
                   CASE WHEN in_shared_ns THEN '' WHEN shared_ds THEN '__shared__:daemonsets'
                        ELSE p.workload_name END AS workload_name,
                   r.pool_id,
                   {_CPU_CHARGED} AS cpu_chg, {_MEM_CHARGED} AS mem_chg, p.gpu_request * p.fraction AS gpu_chg,
                   r.cpu_rate, r.mem_rate, r.gpu_rate, p.fraction, p.cpu_request, p.memory_request,
                   p.cpu_usage, p.memory_usage, p.network_tx_bytes
            FROM flagged p
            JOIN _alloc_node_rate r ON r.cluster = p.cluster AND r.node = p.node AND r.hour = p.hour
        ),
        w AS (
            SELECT cluster, hour, namespace, workload_kind, workload_name, pool_id,
                   sum(cpu_chg * cpu_rate) AS cpu_cost, sum(mem_chg * mem_rate) AS memory_cost,
                   sum(gpu_chg * gpu_rate) AS gpu_cost,
                   sum(fraction) AS pod_hours, sum(cpu_request * fraction) AS cpu_req,
                   sum(memory_request * fraction) / {GIB} AS mem_req,
                   sum(cpu_usage * fraction) AS cpu_use, sum(memory_usage * fraction) / {GIB} AS mem_use,
                   sum(cpu_chg) AS cpu_chg, sum(mem_chg) AS mem_chg, sum(gpu_chg) AS gpu_chg,
                   sum(CASE WHEN network_tx_bytes > 0 THEN network_tx_bytes END) AS tx
            FROM priced
            GROUP BY cluster, hour, namespace, workload_kind, workload_name, pool_id
        )
        SELECT cluster, hour,
               CASE WHEN workload_kind = '' AND (workload_name = '' OR workload_name = '__shared__:daemonsets')
                    THEN 'shared' ELSE 'workload' END,
               namespace, workload_kind,
               CASE WHEN workload_kind = '' AND workload_name = '' THEN '__shared__:' || namespace
                    ELSE workload_name END,
               node_pool, estimated, cpu_cost, memory_cost, gpu_cost, 0, 0, 0, 0,
               cpu_cost + memory_cost + gpu_cost,
               pod_hours, cpu_req, mem_req, cpu_use, mem_use, cpu_chg, mem_chg, gpu_chg, tx
        FROM w JOIN _alloc_pools USING (pool_id)
        """
    ).fetchall()[0][0]     # the INSERT's row count; fetchall closes the result


def _share(part: str, charged: str, alloc: str, used: str) -> str:
    """The part of a node's ``part`` cost that ``charged`` pays, scaled when oversubscribed."""
    return (
        f"coalesce(n.{part} * {charged} / nullif(CASE WHEN {used} > {alloc} THEN {used} ELSE {alloc} END, 0), 0)"
    )


def idle_parts() -> str:
    """SELECT of the idle parts (one per node-hour): what the pods on the node did not pay."""
    return f"""
        SELECT n.cluster, n.hour, 'idle', '', '', '__idle__', n.node_pool, n.estimated,
               n.cpu_cost - {_share('cpu_cost', 'u.s_cpu', 'n.cpu', 'u.s_cpu')},
               n.memory_cost - {_share('memory_cost', 'u.s_mem', 'n.mem_gib', 'u.s_mem')},
               n.gpu_cost - {_share('gpu_cost', 'u.s_gpu', 'n.gpu', 'u.s_gpu')},
               0, 0, 0, 0,
               NULL, NULL, NULL, NULL, NULL,
               greatest(n.cpu - coalesce(u.s_cpu, 0), 0),
               greatest(n.mem_gib - coalesce(u.s_mem, 0), 0),
               greatest(n.gpu - coalesce(u.s_gpu, 0), 0), NULL
        FROM _alloc_node_cost n
        LEFT JOIN _alloc_node_use u ON u.cluster = n.cluster AND u.node = n.node AND u.hour = n.hour
        """


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
