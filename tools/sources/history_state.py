"""State tables from hourly series: pods, nodes, namespaces, owners, workloads, storage, HPAs, jobs.

Used by :func:`tools.sources.history.build_history` inside its transaction. Input is the view
``_h`` (one cluster's hourly series) and its series table ``_hser`` (label values as columns,
``object_labels`` the unsanitised labels of a kube_*_labels series). Everything is set-based SQL; each table is upserted with
:func:`tools.sources.state_merge.merge_rows` so a snapshot's richer facts survive:

* labels merge key by key and the stored (snapshot) value wins on conflicts;
* other columns take the history's value where it has one, else keep the stored one
  (a Job's ``backoff_limit``, which kube-state-metrics does not export, survives);
* ``first_seen`` keeps the earliest, ``last_seen`` the latest hour.

kube-state-metrics sanitises label names (``eks.amazonaws.com/nodegroup`` ->
``label_eks_amazonaws_com_nodegroup``). The mapping back is not unique in general, so the
well-known keys (:data:`KNOWN_LABEL_KEYS`: the node-pool, capacity, instance-type and topology
keys of the contracts, the owner labels and ``app.kubernetes.io/*``) get their original names;
any other key keeps its sanitised name without the ``label_`` prefix.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb

from tools.sources.cloud_ids import CAPACITY_KEYS, INSTANCE_TYPE_KEYS, NODE_POOL_KEYS, REGION_KEYS, ZONE_KEYS
from tools.sources.state_merge import merge_rows, refresh_cluster_row, refresh_node_properties, workload_select

KNOWN_LABEL_KEYS = (
    *NODE_POOL_KEYS, *CAPACITY_KEYS, *INSTANCE_TYPE_KEYS, *ZONE_KEYS, *REGION_KEYS,
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "kubernetes.io/metadata.name",
    "nvidia.com/gpu.product", "nvidia.com/gpu.count", "nvidia.com/gpu.present",
    "cloud.google.com/gke-accelerator", "k8s.amazonaws.com/accelerator", "karpenter.k8s.aws/instance-family",
    "app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
    "app.kubernetes.io/part-of", "app.kubernetes.io/managed-by", "app.kubernetes.io/version",
    "cost_center", "cost-center", "workload_type", "workload-type", "pod-template-hash",
    "batch.kubernetes.io/job-name", "job-name", "controller-uid",
)


def _sanitise(key: str) -> str:
    return "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", key)


def install_label_macro(con: duckdb.DuckDBPyConnection) -> None:
    """``ksm_labels(labels)``: the ``label_*`` entries of a kube_*_labels series, keys unsanitised."""
    by_sanitised: dict[str, str] = {}
    for key in KNOWN_LABEL_KEYS:
        by_sanitised.setdefault(_sanitise(key), key)  # first listed wins (cost_center over cost-center)
    known = ", ".join(f"'{s}': '{k}'" for s, k in by_sanitised.items())
    con.execute(f"""
        CREATE OR REPLACE TEMP MACRO ksm_labels(m) AS map_from_entries(list_transform(
            list_filter(map_entries(m), lambda e: starts_with(e.key, 'label_') AND e.value <> ''),
            lambda e: struct_pack(key := coalesce(MAP {{{known}}}[e.key], substr(e.key, 7)), value := e.value)));
        CREATE OR REPLACE TEMP MACRO ksm_num(v) AS CASE WHEN v IS NULL THEN NULL
            WHEN v = round(v) THEN CAST(CAST(round(v) AS BIGINT) AS VARCHAR) ELSE CAST(v AS VARCHAR) END;
    """)


def _stage(con: duckdb.DuckDBPyConnection, name: str, sql: str, params: list | None = None) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params or [])


LABELS_OLD = "labels_old"


def build_state(con: duckdb.DuckDBPyConnection, cluster: str, last_hour: datetime) -> dict[str, int]:
    """Upsert the state tables from ``_h`` (after :func:`install_label_macro`); leaves ``_hpods``
    (pods with workloads) for the facts. ``last_hour`` is ``_h``'s last hour (the caller has it:
    looked up here, it was a join of every hourly row)."""
    c = cluster
    rows: dict[str, int] = {}

    _stage(con, "_hs_nodes", """
        SELECT ?::VARCHAR AS cluster, node, max(provider_id) AS provider_id, any_value(labels) AS labels,
               max(cpu) AS cpu_allocatable, max(mem) AS memory_allocatable,
               CASE WHEN max(cpu) IS NOT NULL THEN coalesce(max(gpu), 0) END AS gpu_allocatable,
               'default' AS node_pool, 'on-demand' AS capacity_type
        FROM (
            SELECT node, arg_max(nullif(labels['provider_id'], ''), hour) AS provider_id,
                   NULL::MAP(VARCHAR, VARCHAR) AS labels, NULL::DOUBLE AS cpu, NULL::DOUBLE AS mem, NULL::DOUBLE AS gpu
            FROM _h WHERE metric = 'kube_node_info' GROUP BY 1
            UNION ALL
            SELECT node, NULL, arg_max(object_labels, hour), NULL, NULL, NULL
            FROM _h WHERE metric = 'kube_node_labels' GROUP BY 1
            UNION ALL
            SELECT node, NULL, NULL,
                   arg_max(last, hour) FILTER (resource = 'cpu'),
                   arg_max(last, hour) FILTER (resource = 'memory'),
                   arg_max(last, hour) FILTER (resource IN ('nvidia_com_gpu', 'nvidia.com/gpu'))
            FROM _h WHERE metric = 'kube_node_status_allocatable' GROUP BY 1
        ) WHERE node IS NOT NULL AND node <> '' GROUP BY node""", [c])
    rows["nodes"] = merge_rows(con, "nodes", "_hs_nodes", ("cluster", "node"), {"labels": LABELS_OLD})
    refresh_node_properties(con, c)
    refresh_cluster_row(con, c)

    _stage(con, "_hs_edges", """
        SELECT ?::VARCHAR AS cluster, namespace, kind, name,
               arg_max(owner_kind, hour) AS owner_kind, arg_max(owner_name, hour) AS owner_name
        FROM (
            SELECT namespace,
                   CASE metric WHEN 'kube_pod_owner' THEN 'Pod' WHEN 'kube_replicaset_owner' THEN 'ReplicaSet'
                               ELSE 'Job' END AS kind,
                   CASE metric WHEN 'kube_pod_owner' THEN pod
                               WHEN 'kube_replicaset_owner' THEN labels['replicaset'] ELSE job_name END AS name,
                   owner_kind, owner_name, hour
            FROM _h WHERE metric IN ('kube_pod_owner', 'kube_replicaset_owner', 'kube_job_owner')
              AND coalesce(owner_kind, '') NOT IN ('', '<none>')
              AND coalesce(owner_name, '') NOT IN ('', '<none>')
        ) WHERE namespace IS NOT NULL AND name IS NOT NULL GROUP BY namespace, kind, name""", [c])
    rows["owner_edges"] = merge_rows(con, "owner_edges", "_hs_edges", ("cluster", "namespace", "kind", "name"))

    # Pods: presence from kube_pod_info; direct owner from kube_pod_owner, else created_by_*.
    _stage(con, "_hs_pod_base", """
        WITH info AS (
            SELECT namespace, pod, max(nullif(uid, '')) AS uid,
                   arg_max(nullif(node, ''), hour) AS node,
                   arg_max(nullif(created_by_kind, ''), hour) AS created_by_kind,
                   arg_max(nullif(created_by_name, ''), hour) AS created_by_name,
                   min(hour) AS first_seen, max(hour) AS last_seen
            FROM _h WHERE metric = 'kube_pod_info' GROUP BY 1, 2),
        -- a labels series' labels are its own: the pod's latest series, its last hour found per
        -- series, so the label maps are read once a series, not once an hour
        labelled AS (
            SELECT s.namespace, s.pod, arg_max(s.object_labels, h.last_hour) AS labels
            FROM (SELECT series, max(hour) AS last_hour FROM _h WHERE metric = 'kube_pod_labels' GROUP BY 1) h
            JOIN _hser s USING (series) GROUP BY 1, 2),
        extra AS (
            SELECT namespace, pod,
                   to_timestamp(arg_max(last, hour) FILTER (metric = 'kube_pod_created'))::TIMESTAMP AS created_at,
                   -- the phase at the end of the latest hour (two phases can both be seen in it)
                   arg_max(phase, (hour, last, phase))
                       FILTER (metric = 'kube_pod_status_phase' AND max > 0) AS phase
            FROM _h WHERE metric IN ('kube_pod_created', 'kube_pod_status_phase') GROUP BY 1, 2)
        SELECT ?::VARCHAR AS cluster, i.namespace, i.pod, i.uid, i.node,
               coalesce(e.owner_kind, nullif(i.created_by_kind, '<none>'), p.owner_kind) AS owner_kind,
               coalesce(e.owner_name, nullif(i.created_by_name, '<none>'), p.owner_name) AS owner_name,
               map_concat(coalesce(l.labels, MAP {}), coalesce(p.labels, MAP {})) AS labels,
               x.created_at, i.first_seen, i.last_seen, x.phase
        FROM info i
        LEFT JOIN labelled l USING (namespace, pod)
        LEFT JOIN extra x USING (namespace, pod)
        LEFT JOIN owner_edges e ON e.cluster = ? AND e.namespace = i.namespace AND e.kind = 'Pod' AND e.name = i.pod
        LEFT JOIN pods p ON p.cluster = ? AND p.namespace = i.namespace AND p.pod = i.pod
        WHERE i.namespace IS NOT NULL AND i.pod IS NOT NULL""", [c, c, c])
    _stage(con, "_hs_job_labels", """
        SELECT ?::VARCHAR AS cluster, namespace, job, any_value(labels) AS labels FROM (
            SELECT namespace, job_name AS job, object_labels AS labels   -- each series with hours, once
            FROM _hser WHERE metric = 'kube_job_labels'
            UNION ALL
            SELECT namespace, name, labels FROM k8s_objects WHERE cluster = ? AND kind = 'Job')
        GROUP BY namespace, job""", [c, c])
    _stage(con, "_hpods", workload_select("_hs_pod_base", "_hs_job_labels"))
    rows["pods"] = merge_rows(con, "pods", "_hpods", ("cluster", "namespace", "pod"),
                              {"labels": LABELS_OLD, "first_seen": "least", "last_seen": "greatest"})

    # A namespace is deleted when kube-state-metrics stops reporting it before the relation ends;
    # without kube_namespace_* series a namespace without pods may still exist: deleted_at is kept.
    ns_metrics = con.execute("SELECT count(*) FROM _hser WHERE metric IN ('kube_namespace_labels', "
                             "'kube_namespace_created')").fetchone()[0] > 0
    _stage(con, "_hs_ns", f"""
        WITH named AS (  -- every namespace a series names; its metadata from kube_namespace_* only
            SELECT DISTINCT namespace FROM _hser WHERE coalesce(namespace, '') <> ''),
        meta AS (
            SELECT namespace,
                   arg_max(object_labels, hour) FILTER (metric = 'kube_namespace_labels') AS labels,
                   to_timestamp(arg_max(last, hour) FILTER (metric = 'kube_namespace_created'))::TIMESTAMP
                       AS created_at,
                   max(hour) AS last_hour
            FROM _h WHERE metric IN ('kube_namespace_labels', 'kube_namespace_created')
              AND coalesce(namespace, '') <> ''
            GROUP BY 1),
        seen AS (SELECT * FROM named LEFT JOIN meta USING (namespace))
        SELECT ?::VARCHAR AS cluster, namespace, labels, created_at,
               CASE WHEN {ns_metrics} AND coalesce(last_hour, '-infinity'::TIMESTAMP) < ?::TIMESTAMP
                    THEN last_hour + INTERVAL 1 HOUR END AS deleted_at
        FROM seen""", [c, last_hour])
    rows["namespaces"] = merge_rows(con, "namespaces", "_hs_ns", ("cluster", "namespace"),
                                    {"labels": LABELS_OLD, "deleted_at": "replace" if ns_metrics else "old"})

    _stage(con, "_hs_workloads", """
        SELECT ?::VARCHAR AS cluster, namespace, kind, name, arg_min(labels, priority) AS labels,
               min(created_at) AS created_at, min(first_seen) AS first_seen, max(last_seen) AS last_seen
        FROM (
            SELECT namespace,
                   CASE metric WHEN 'kube_deployment_labels' THEN 'Deployment'
                               WHEN 'kube_statefulset_labels' THEN 'StatefulSet'
                               WHEN 'kube_daemonset_labels' THEN 'DaemonSet' ELSE 'CronJob' END AS kind,
                   coalesce(labels['deployment'], labels['statefulset'], labels['daemonset'], labels['cronjob']) AS name,
                   arg_max(object_labels, hour) FILTER (ends_with(metric, '_labels')) AS labels,
                   to_timestamp(arg_max(last, hour) FILTER (metric = 'kube_cronjob_created'))::TIMESTAMP AS created_at,
                   min(hour) AS first_seen, max(hour) AS last_seen, 0 AS priority
            FROM _h WHERE metric IN ('kube_deployment_labels', 'kube_statefulset_labels', 'kube_daemonset_labels',
                                     'kube_cronjob_labels', 'kube_cronjob_created', 'kube_cronjob_info')
            GROUP BY 1, 2, 3
            UNION ALL
            SELECT jl.namespace, 'Job', coalesce(nullif(jl.labels['workload_type'], ''),
                   nullif(jl.labels['app.kubernetes.io/name'], ''), jl.job), jl.labels, NULL, NULL, NULL, 0
            FROM _hs_job_labels jl
            WHERE jl.job IN (SELECT owner_name FROM _hpods p WHERE p.owner_kind = 'Job' AND p.workload_kind = 'Job'
                             AND p.namespace = jl.namespace)
            UNION ALL
            SELECT namespace, workload_kind, workload_name, any_value(labels), NULL, min(first_seen),
                   max(last_seen), 1
            FROM _hpods GROUP BY 1, 2, 3
        ) WHERE namespace IS NOT NULL AND name IS NOT NULL GROUP BY namespace, kind, name""", [c])
    rows["workloads"] = merge_rows(con, "workloads", "_hs_workloads", ("cluster", "namespace", "kind", "name"),
                                   {"labels": LABELS_OLD, "created_at": "old", "first_seen": "least",
                                    "last_seen": "greatest"})
    rows.update(_storage_and_controllers(con, c))
    return rows


def _storage_and_controllers(con: duckdb.DuckDBPyConnection, c: str) -> dict[str, int]:
    rows: dict[str, int] = {}
    _stage(con, "_hs_pod_volumes", """
        SELECT DISTINCT ?::VARCHAR AS cluster, namespace, pod,
               labels['persistentvolumeclaim'] AS pvc
        FROM _h WHERE metric = 'kube_pod_spec_volumes_persistentvolumeclaims_info'
          AND namespace IS NOT NULL AND pod IS NOT NULL
          AND coalesce(labels['persistentvolumeclaim'], '') <> ''""", [c])
    rows["pod_volumes"] = merge_rows(con, "pod_volumes", "_hs_pod_volumes", ("cluster", "namespace", "pod", "pvc"))

    _stage(con, "_hs_pvcs", """
        SELECT ?::VARCHAR AS cluster, namespace, labels['persistentvolumeclaim'] AS pvc,
               arg_max(nullif(labels['volumename'], ''), hour) FILTER (metric = 'kube_persistentvolumeclaim_info')
                   AS volume_name,
               arg_max(nullif(labels['storageclass'], ''), hour) FILTER (metric = 'kube_persistentvolumeclaim_info')
                   AS storage_class,
               arg_max(last, hour) FILTER (metric = 'kube_persistentvolumeclaim_resource_requests_storage_bytes')
                   AS request_bytes
        FROM _h WHERE metric IN ('kube_persistentvolumeclaim_info',
                                 'kube_persistentvolumeclaim_resource_requests_storage_bytes')
          AND namespace IS NOT NULL AND labels['persistentvolumeclaim'] IS NOT NULL
        GROUP BY 2, 3""", [c])
    rows["pvcs"] = merge_rows(con, "pvcs", "_hs_pvcs", ("cluster", "namespace", "pvc"))

    _stage(con, "_hs_pvs", """
        SELECT ?::VARCHAR AS cluster, labels['persistentvolume'] AS pv,
               k8s_volume_id(arg_max(coalesce(nullif(labels['csi_volume_handle'], ''),
                   nullif(labels['ebs_volume_id'], ''), nullif(labels['gce_persistent_disk_name'], ''),
                   nullif(labels['azure_disk_name'], '')), hour) FILTER (metric = 'kube_persistentvolume_info'))
                   AS volume_id,
               arg_max(nullif(labels['storageclass'], ''), hour) FILTER (metric = 'kube_persistentvolume_info')
                   AS storage_class,
               arg_max(last, hour) FILTER (metric = 'kube_persistentvolume_capacity_bytes') AS capacity_bytes,
               arg_max(nullif(labels['claim_namespace'], ''), hour) FILTER (metric = 'kube_persistentvolume_claim_ref')
                   AS claim_namespace,
               arg_max(nullif(labels['name'], ''), hour) FILTER (metric = 'kube_persistentvolume_claim_ref')
                   AS claim_name,
               arg_max(phase, (hour, last, phase))
                   FILTER (metric = 'kube_persistentvolume_status_phase' AND max > 0) AS phase
        FROM _h WHERE metric IN ('kube_persistentvolume_info', 'kube_persistentvolume_capacity_bytes',
                                 'kube_persistentvolume_claim_ref', 'kube_persistentvolume_status_phase')
          AND labels['persistentvolume'] IS NOT NULL
        GROUP BY 2""", [c])
    rows["pvs"] = merge_rows(con, "pvs", "_hs_pvs", ("cluster", "pv"))

    _stage(con, "_hs_hpas", """
        SELECT ?::VARCHAR AS cluster, namespace, labels['horizontalpodautoscaler'] AS hpa,
               arg_max(labels['scaletargetref_kind'], hour) FILTER (metric = 'kube_horizontalpodautoscaler_info')
                   AS target_kind,
               arg_max(labels['scaletargetref_name'], hour) FILTER (metric = 'kube_horizontalpodautoscaler_info')
                   AS target_name,
               arg_max(last, hour) FILTER (metric = 'kube_horizontalpodautoscaler_spec_min_replicas')::INTEGER
                   AS min_replicas,
               arg_max(last, hour) FILTER (metric = 'kube_horizontalpodautoscaler_spec_max_replicas')::INTEGER
                   AS max_replicas,
               nullif(list_sort(list_distinct(list(labels['metric_name'])
                   FILTER (metric = 'kube_horizontalpodautoscaler_spec_target_metric'))), []) AS metric_resources
        FROM _h WHERE starts_with(metric, 'kube_horizontalpodautoscaler_')
          AND namespace IS NOT NULL AND labels['horizontalpodautoscaler'] IS NOT NULL
        GROUP BY 2, 3""", [c])
    rows["hpas"] = merge_rows(con, "hpas", "_hs_hpas", ("cluster", "namespace", "hpa"))

    _stage(con, "_hs_jobs", """
        SELECT ?::VARCHAR AS cluster, namespace, job_name AS job,
               arg_max(owner_name, hour) FILTER (metric = 'kube_job_owner'
                   AND owner_kind = 'CronJob') AS cronjob,
               to_timestamp(arg_max(last, hour) FILTER (metric = 'kube_job_created'))::TIMESTAMP AS created_at,
               to_timestamp(arg_max(last, hour) FILTER (metric = 'kube_job_status_start_time'))::TIMESTAMP
                   AS start_time,
               to_timestamp(arg_max(last, hour) FILTER (metric = 'kube_job_status_completion_time'))::TIMESTAMP
                   AS completion_time,
               arg_max(last, hour) FILTER (metric = 'kube_job_status_succeeded')::INTEGER AS succeeded,
               arg_max(last, hour) FILTER (metric = 'kube_job_status_failed')::INTEGER AS failed,
               arg_max(last, hour) FILTER (metric = 'kube_job_status_active')::INTEGER AS active,
               arg_max(last, hour) FILTER (metric = 'kube_job_spec_parallelism')::INTEGER AS parallelism,
               arg_max(last, hour) FILTER (metric = 'kube_job_spec_completions')::INTEGER AS completions
        FROM _h WHERE metric IN ('kube_job_owner', 'kube_job_created', 'kube_job_status_start_time',
                                 'kube_job_status_completion_time', 'kube_job_status_succeeded',
                                 'kube_job_status_failed', 'kube_job_status_active', 'kube_job_spec_parallelism',
                                 'kube_job_spec_completions')
          AND namespace IS NOT NULL AND job_name IS NOT NULL
        GROUP BY 2, 3""", [c])
    rows["job_runs"] = merge_rows(con, "job_runs", "_hs_jobs", ("cluster", "namespace", "job"))
    return rows


STATE_TEMP_TABLES = ("_hs_nodes", "_hs_edges", "_hs_pod_base", "_hs_job_labels", "_hpods", "_hs_ns",
                     "_hs_workloads", "_hs_pod_volumes", "_hs_pvcs", "_hs_pvs", "_hs_hpas", "_hs_jobs")
