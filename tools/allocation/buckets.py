"""Assembly of cost parts into ``allocation_hours`` buckets, and the shared-cost rules.

Every allocation step inserts *parts* into ``_alloc_parts``; a part is either a fixed bucket
(``special`` = idle, shared, unowned_storage, unallocated, external) or a workload
(``special`` NULL). One final ``GROUP BY`` maps workload parts to buckets (DESIGN.md rule 5):

* a workload in a namespace listed in ``settings.allocation.shared_namespaces`` becomes
  ``__shared__:<namespace>`` (bucket ``shared``, namespace kept, workload kind ``''``);
* with ``settings.allocation.daemonsets_shared``, every DaemonSet becomes
  ``__shared__:daemonsets`` (namespace kept);
* everything else stays a ``workload`` row named by its top controller (or ``Service`` for
  load balancers, ``Namespace`` for namespace-level log cost).

The shared rows stay visible in ``allocation_hours``; distribution policies (proportional,
even, team weights) are applied at query time by ``tools.allocation.policies``.
"""

from __future__ import annotations

import duckdb

from tools.settings import AllocationSettings

COST_COLUMNS = (
    "cpu_cost", "memory_cost", "gpu_cost", "storage_cost", "network_cost", "observability_cost", "other_cost",
)
QUANTITY_COLUMNS = (
    "pod_hours", "cpu_request_hours", "memory_request_gib_hours", "cpu_usage_hours",
    "memory_usage_gib_hours", "cpu_charged_hours", "memory_charged_gib_hours", "gpu_hours",
)


def create_parts_table(con: duckdb.DuckDBPyConnection) -> None:
    costs = ", ".join(f"{c} DOUBLE" for c in COST_COLUMNS)
    qty = ", ".join(f"{c} DOUBLE" for c in QUANTITY_COLUMNS)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _alloc_parts (
            cluster VARCHAR, hour TIMESTAMP, special VARCHAR, namespace VARCHAR,
            workload_kind VARCHAR, workload_name VARCHAR, node_pool VARCHAR, estimated BOOLEAN,
            {costs}, {qty})
        """
    )


def prepare_allocation_hours(con: duckdb.DuckDBPyConnection, settings: AllocationSettings) -> None:
    """Empty ``allocation_hours`` and load the shared namespaces for :func:`insert_buckets`."""
    con.execute("CREATE OR REPLACE TEMP TABLE _alloc_shared_ns (namespace VARCHAR)")
    if settings.shared_namespaces:
        con.executemany("INSERT INTO _alloc_shared_ns VALUES (?)", [[ns] for ns in dict.fromkeys(settings.shared_namespaces)])
    con.execute("DELETE FROM allocation_hours")


def insert_buckets(con: duckdb.DuckDBPyConnection, settings: AllocationSettings, parts_sql: str) -> None:
    """Map the parts that ``parts_sql`` selects to buckets and add them to ``allocation_hours``.

    ``parts_sql`` yields the columns of ``_alloc_parts``. Two calls never produce the same
    row key: pod parts are either on a node pool or ``estimated`` (unknown node), while the
    cluster-level workload parts are in pool ``''`` and never estimated.
    """
    ds = "TRUE" if settings.daemonsets_shared else "FALSE"
    cost_sums = ", ".join(f"sum({c})" for c in COST_COLUMNS)
    total = " + ".join(f"sum({c})" for c in COST_COLUMNS)
    qty_sums = ", ".join(f"sum({c})" for c in QUANTITY_COLUMNS)
    con.execute(
        f"""
        INSERT INTO allocation_hours
        WITH mapped AS (
            SELECT p.*,
                   CASE WHEN p.special IS NOT NULL THEN p.special
                        WHEN s.namespace IS NOT NULL THEN 'shared'
                        WHEN {ds} AND p.workload_kind = 'DaemonSet' THEN 'shared'
                        ELSE 'workload' END AS bucket,
                   CASE WHEN p.special IS NOT NULL THEN p.workload_name
                        WHEN s.namespace IS NOT NULL THEN '__shared__:' || p.namespace
                        WHEN {ds} AND p.workload_kind = 'DaemonSet' THEN '__shared__:daemonsets'
                        ELSE p.workload_name END AS bucket_name,
                   CASE WHEN p.special IS NOT NULL OR s.namespace IS NOT NULL
                             OR ({ds} AND p.workload_kind = 'DaemonSet') THEN ''
                        ELSE p.workload_kind END AS bucket_kind
            FROM ({parts_sql}) p
            LEFT JOIN _alloc_shared_ns s ON s.namespace = p.namespace AND p.special IS NULL
        )
        SELECT cluster, hour, bucket, namespace, bucket_kind, bucket_name, node_pool, estimated,
               {cost_sums}, {total}, {qty_sums}
        FROM mapped
        GROUP BY cluster, hour, bucket, namespace, bucket_kind, bucket_name, node_pool, estimated
        """
    )
