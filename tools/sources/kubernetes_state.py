"""The typed state tables from a staged snapshot (``_snap``), in SQL.

Called by ``kubernetes_objects.ingest_objects`` inside its transaction, after ``_snap`` (one
row per object, kind-specific columns filled) and ``k8s_objects`` are written. Every table is
upserted by key with :func:`tools.sources.state_merge.merge_rows`.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from tools.sources.state_merge import merge_rows, refresh_cluster_row, refresh_node_properties, workload_select


def _stage(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: list) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)


def write_state_tables(con: duckdb.DuckDBPyConnection, cluster: str, snapshot_at: datetime) -> dict[str, int]:
    """Upsert every typed table from ``_snap``; returns rows written per table."""
    rows: dict[str, int] = {}
    c, at = cluster, snapshot_at

    _stage(con, "_s_nodes", """
        SELECT ?::VARCHAR AS cluster, name AS node, provider_id, labels, created_at, cpu_allocatable,
               memory_allocatable, gpu_allocatable, 'default' AS node_pool, 'on-demand' AS capacity_type
        FROM _snap WHERE kind = 'Node'""", [c])
    rows["nodes"] = merge_rows(con, "nodes", "_s_nodes", ("cluster", "node"))
    refresh_node_properties(con, c)

    # Namespaces: the Namespace objects, plus every namespace a namespaced object lives in.
    _stage(con, "_s_ns", """
        SELECT ?::VARCHAR AS cluster, namespace, any_value(labels) AS labels, max(created_at) AS created_at,
               NULL::TIMESTAMP AS deleted_at
        FROM (SELECT name AS namespace, labels, created_at FROM _snap WHERE kind = 'Namespace'
              UNION ALL
              SELECT DISTINCT namespace, NULL, NULL FROM _snap WHERE namespace <> '')
        GROUP BY namespace""", [c])
    rows["namespaces"] = merge_rows(con, "namespaces", "_s_ns", ("cluster", "namespace"))
    con.execute("""UPDATE namespaces SET deleted_at = NULL WHERE cluster = ?
                   AND namespace IN (SELECT namespace FROM _s_ns)""", [c])

    _stage(con, "_s_edges", """
        SELECT ?::VARCHAR AS cluster, namespace, kind, name, owner_kind, owner_name
        FROM _snap WHERE owner_kind IS NOT NULL AND owner_name IS NOT NULL""", [c])
    rows["owner_edges"] = merge_rows(con, "owner_edges", "_s_edges", ("cluster", "namespace", "kind", "name"))

    # Pods resolved to their top controller (owner_edges already holds this snapshot's edges).
    _stage(con, "_s_pod_owner", """
        SELECT ?::VARCHAR AS cluster, namespace, name AS pod, uid, node, owner_kind, owner_name, labels,
               created_at, ?::TIMESTAMP AS first_seen, ?::TIMESTAMP AS last_seen, phase
        FROM _snap WHERE kind = 'Pod'""", [c, at, at])
    _stage(con, "_s_job_labels", """
        SELECT cluster, namespace, name AS job, labels FROM k8s_objects WHERE kind = 'Job' AND cluster = ?""", [c])
    _stage(con, "_s_pods", workload_select("_s_pod_owner", "_s_job_labels"), [])
    rows["pods"] = merge_rows(con, "pods", "_s_pods", ("cluster", "namespace", "pod"),
                              {"first_seen": "least", "last_seen": "greatest"})

    _stage(con, "_s_pod_volumes", """
        SELECT DISTINCT ?::VARCHAR AS cluster, namespace, name AS pod, unnest(pvcs) AS pvc
        FROM _snap WHERE kind = 'Pod' AND len(pvcs) > 0""", [c])
    rows["pod_volumes"] = merge_rows(con, "pod_volumes", "_s_pod_volumes", ("cluster", "namespace", "pod", "pvc"))

    # Workloads: top-level controllers, Jobs without a CronJob grouped by label, and whatever
    # the pods resolved to (bare pods, Deployments known only through a pod-template-hash).
    _stage(con, "_s_workloads", """
        SELECT ?::VARCHAR AS cluster, namespace, kind, name,
               arg_min(labels, priority) AS labels, min(created_at) AS created_at,
               ?::TIMESTAMP AS first_seen, ?::TIMESTAMP AS last_seen
        FROM (
            SELECT namespace, kind, name, labels, created_at, 0 AS priority FROM _snap
            WHERE kind IN ('Deployment', 'StatefulSet', 'DaemonSet', 'CronJob')
              AND coalesce(owner_kind, '') = ''
            UNION ALL
            SELECT namespace, 'Job', coalesce(nullif(labels['workload_type'], ''),
                   nullif(labels['app.kubernetes.io/name'], ''), name), labels, created_at, 1 FROM _snap
            WHERE kind = 'Job' AND coalesce(owner_kind, '') <> 'CronJob'
            UNION ALL
            SELECT namespace, workload_kind, workload_name, labels, created_at, 2 FROM _s_pods
        ) GROUP BY namespace, kind, name""", [c, at, at])
    rows["workloads"] = merge_rows(con, "workloads", "_s_workloads", ("cluster", "namespace", "kind", "name"),
                                   {"created_at": "least", "first_seen": "least", "last_seen": "greatest"})

    _stage(con, "_s_pvcs", """
        SELECT ?::VARCHAR AS cluster, namespace, name AS pvc, volume_name, storage_class, request_bytes,
               phase, labels, created_at
        FROM _snap WHERE kind = 'PersistentVolumeClaim'""", [c])
    rows["pvcs"] = merge_rows(con, "pvcs", "_s_pvcs", ("cluster", "namespace", "pvc"))

    _stage(con, "_s_pvs", """
        SELECT ?::VARCHAR AS cluster, name AS pv, k8s_volume_id(volume_ref) AS volume_id, storage_class,
               capacity_bytes, claim_namespace, claim_name, phase, reclaim_policy, created_at
        FROM _snap WHERE kind = 'PersistentVolume'""", [c])
    rows["pvs"] = merge_rows(con, "pvs", "_s_pvs", ("cluster", "pv"))

    _stage(con, "_s_sc", """
        SELECT ?::VARCHAR AS cluster, name, provisioner, parameters, coalesce(is_default, false) AS is_default
        FROM _snap WHERE kind = 'StorageClass'""", [c])
    rows["storage_classes"] = merge_rows(con, "storage_classes", "_s_sc", ("cluster", "name"))

    _stage(con, "_s_services", """
        SELECT ?::VARCHAR AS cluster, namespace, name AS service, type, lb_ingress, k8s_lb_id(lb_ingress) AS lb_id,
               selector, labels, created_at
        FROM _snap WHERE kind = 'Service'""", [c])
    rows["services"] = merge_rows(con, "services", "_s_services", ("cluster", "namespace", "service"))

    _stage(con, "_s_hpas", """
        SELECT ?::VARCHAR AS cluster, namespace, name AS hpa, target_kind, target_name,
               min_replicas::INTEGER AS min_replicas, max_replicas::INTEGER AS max_replicas, metric_resources
        FROM _snap WHERE kind = 'HorizontalPodAutoscaler'""", [c])
    rows["hpas"] = merge_rows(con, "hpas", "_s_hpas", ("cluster", "namespace", "hpa"))

    _stage(con, "_s_jobs", """
        SELECT ?::VARCHAR AS cluster, namespace, name AS job, cronjob, created_at, start_time, completion_time,
               succeeded::INTEGER AS succeeded, failed::INTEGER AS failed, active::INTEGER AS active,
               parallelism::INTEGER AS parallelism, completions::INTEGER AS completions,
               backoff_limit::INTEGER AS backoff_limit
        FROM _snap WHERE kind = 'Job'""", [c])
    rows["job_runs"] = merge_rows(con, "job_runs", "_s_jobs", ("cluster", "namespace", "job"))

    _stage(con, "_s_events", """
        SELECT ?::VARCHAR AS cluster, namespace, involved_kind, involved_name, reason, message, type,
               first_ts, last_ts, count::INTEGER AS count, name
        FROM _snap WHERE kind = 'Event'""", [c])
    rows["events"] = merge_rows(con, "events", "_s_events", ("cluster", "namespace", "name"))

    rows["clusters"] = refresh_cluster_row(con, c)

    for name in ("_s_nodes", "_s_ns", "_s_edges", "_s_pod_owner", "_s_job_labels", "_s_pods", "_s_pod_volumes",
                 "_s_workloads", "_s_pvcs", "_s_pvs", "_s_sc", "_s_services", "_s_hpas", "_s_jobs", "_s_events"):
        con.execute(f"DROP TABLE {name}")
    return {table: n for table, n in rows.items() if n}
