"""Assembly of cost parts into ``allocation_hours`` buckets, and the shared-cost rules.

Pod charges are grouped straight into ``allocation_hours`` (``pod_costs``); every other
step returns a SELECT of *parts* (``PART_COLUMNS``), either a fixed bucket (``special`` = idle,
shared, unowned_storage, unallocated, external) or a workload (``special`` NULL), and one final
``GROUP BY`` over all of them (never materialised on their own) adds them. Workloads map to buckets the same way in both (DESIGN.md rule 5):

* a workload in a namespace listed in ``settings.allocation.shared_namespaces`` becomes
  ``__shared__:<namespace>`` (bucket ``shared``, namespace kept, workload kind ``''``);
* with ``settings.allocation.daemonsets_shared``, every DaemonSet becomes
  ``__shared__:daemonsets`` (namespace kept);
* everything else stays a ``workload`` row named by its top controller (or ``Service`` for
  load balancers, ``Namespace`` for namespace-level log cost).

The two inserts never produce the same row key: pod rows are either on a node pool or
``estimated`` (a node with no data), while cluster-level workload parts are in pool ``''`` and
never estimated. The shared rows stay visible in ``allocation_hours``; distribution policies
(proportional, even, team weights) are applied at query time by ``tools.allocation.policies``.
"""

from __future__ import annotations

import duckdb

from tools.settings import AllocationSettings
from tools.warehouse.sql import literal

COST_COLUMNS = (
    "cpu_cost", "memory_cost", "gpu_cost", "storage_cost", "network_cost", "observability_cost", "other_cost",
)
QUANTITY_COLUMNS = (
    "pod_hours", "cpu_request_hours", "memory_request_gib_hours", "cpu_usage_hours",
    "memory_usage_gib_hours", "cpu_charged_hours", "memory_charged_gib_hours", "gpu_hours", "network_tx_bytes",
)


def shared_namespace_test(settings: AllocationSettings, alias: str) -> str:
    """SQL: the row ``alias`` is in one of the shared namespaces."""
    tests = " OR ".join(f"{alias}.namespace = {literal(ns)}" for ns in dict.fromkeys(settings.shared_namespaces))
    return f"({tests or 'FALSE'})"   # an OR chain, not IN (...): no join per row


def bucket_columns(settings: AllocationSettings, alias: str) -> tuple[str, str, str]:
    """SQL for (bucket, workload_kind, workload_name) of a workload row ``alias``
    (columns namespace, workload_kind, workload_name)."""
    in_shared = shared_namespace_test(settings, alias)
    ds = f"{alias}.workload_kind = 'DaemonSet'" if settings.daemonsets_shared else "FALSE"
    bucket = f"CASE WHEN {in_shared} OR {ds} THEN 'shared' ELSE 'workload' END"
    kind = f"CASE WHEN {in_shared} OR {ds} THEN '' ELSE {alias}.workload_kind END"
    name = (f"CASE WHEN {in_shared} THEN '__shared__:' || {alias}.namespace "
            f"WHEN {ds} THEN '__shared__:daemonsets' ELSE {alias}.workload_name END")
    return bucket, kind, name


PART_COLUMNS = (
    ("cluster", "VARCHAR"), ("hour", "TIMESTAMP"), ("special", "VARCHAR"), ("namespace", "VARCHAR"),
    ("workload_kind", "VARCHAR"), ("workload_name", "VARCHAR"), ("node_pool", "VARCHAR"), ("estimated", "BOOLEAN"),
    *((c, "DOUBLE") for c in COST_COLUMNS),
)


def insert_parts(con: duckdb.DuckDBPyConnection, settings: AllocationSettings, idle: str, parts: list[str]) -> int:
    """Add the parts to ``allocation_hours``; returns the rows written.

    ``idle`` is a SELECT of idle parts (``PART_COLUMNS`` and then ``QUANTITY_COLUMNS``: the
    capacity nobody was charged for), grouped per node pool; ``parts`` are SELECTs with the
    columns of ``PART_COLUMNS`` (money only), mapped to buckets and grouped. The two never
    share a row key (bucket ``idle`` is only theirs), so each is grouped on its own, and the
    large cost-only group carries no quantity columns."""
    bucket, kind, name = bucket_columns(settings, "p")
    cost_sums = ", ".join(f"sum({c})" for c in COST_COLUMNS)
    total = " + ".join(f"sum({c})" for c in COST_COLUMNS)
    qty_sums = ", ".join(f"sum({c})" for c in QUANTITY_COLUMNS)
    no_qty = ", ".join(f"NULL AS {c}" for c in QUANTITY_COLUMNS)
    typed = ", ".join(f"#{i}::{t} AS {c}" for i, (c, t) in enumerate(PART_COLUMNS, start=1))
    union = " UNION ALL ".join(f"SELECT {typed} FROM ({sql})" for sql in parts)
    idle_typed = ", ".join(f"#{i}::{t} AS {c}" for i, (c, t) in enumerate(
        PART_COLUMNS + tuple((q, "DOUBLE") for q in QUANTITY_COLUMNS), start=1))
    return con.execute(
        f"""
        INSERT INTO allocation_hours
        WITH mapped AS (
            SELECT p.*,
                   CASE WHEN p.special IS NOT NULL THEN p.special ELSE {bucket} END AS bucket,
                   CASE WHEN p.special IS NOT NULL THEN p.workload_kind ELSE {kind} END AS bucket_kind,
                   CASE WHEN p.special IS NOT NULL THEN p.workload_name ELSE {name} END AS bucket_name
            FROM ({union}) p
        )
        SELECT cluster, hour, special, namespace, workload_kind, workload_name, node_pool, estimated,
               {cost_sums}, {total}, {qty_sums}
        FROM (SELECT {idle_typed} FROM ({idle}))
        GROUP BY cluster, hour, special, namespace, workload_kind, workload_name, node_pool, estimated
        UNION ALL
        SELECT cluster, hour, bucket, namespace, bucket_kind, bucket_name, node_pool, estimated,
               {cost_sums}, {total}, {no_qty}
        FROM mapped
        GROUP BY cluster, hour, bucket, namespace, bucket_kind, bucket_name, node_pool, estimated
        """
    ).fetchall()[0][0]     # the INSERT's row count; fetchall closes the result
