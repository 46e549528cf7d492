"""Hourly fact tables from hourly series: pod_hours, container_hours, node_hours, volume_hours,
node_gpu_hours, namespace_log_hours and workload_spec_hours.

Used by :func:`tools.sources.history.build_history` after :mod:`history_state` has resolved
pods to workloads (``_hpods``). Input is the view ``_h`` and its series table ``_hser``; all of
it is set-based SQL.

Semantics (the catalogue's hourly contract):

* a pod-hour exists when ``kube_pod_info`` has the pod in that hour and the hour's average of
  its ``kube_pod_status_phase{phase="Running"}`` series (``fraction``) is above 0; its node is
  the hour's ``node`` label, else the pod's last known node;
* requests and limits are the hour's average per container, summed over the pod's containers
  (``resource`` cpu, memory, ``nvidia_com_gpu``); a pod without a GPU request requests 0 GPUs;
  a pod's limit is NULL (unlimited) as soon as one of its containers has no limit;
* CPU usage: per series, the hour's counter increase (``last(H) - last(H-1)``, ``last(H) -
  min(H)`` without a sample in ``H-1``, ``last(H)`` after a reset) / 3600, summed over the
  pod's containers (cAdvisor series with ``container`` ``""``/``POD`` or an empty ``image``
  are the pod cgroup and pause container and are left out, as the Prometheus selector does);
* memory usage: each container's maximum working set in the hour, summed over containers
  (an upper bound of the pod's peak);
* ``gpu_util``: DCGM series labelled with the pod (``namespace``/``pod``, or
  ``exported_namespace``/``exported_pod`` when Prometheus renamed them): the hour's average
  of ``DCGM_FI_PROF_GR_ENGINE_ACTIVE`` over the pod's GPUs, else ``DCGM_FI_DEV_GPU_UTIL``/100;
  NULL (never 0) without DCGM;
* ``network_tx_bytes``: the hour's increase of ``container_network_transmit_bytes_total``,
  summed over interfaces; NULL when the metric is absent;
* ``node_gpu_hours.fb_used_bytes``: ``DCGM_FI_DEV_FB_USED`` (MiB) x 2^20.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

COUNTERS = ("container_cpu_usage_seconds_total", "container_network_transmit_bytes_total",
            "loki_distributor_bytes_received_total")
DCGM_ACTIVE, DCGM_UTIL, DCGM_FB = "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED"
SPEC_METRICS = (
    "kube_deployment_spec_replicas", "kube_statefulset_replicas", "kube_job_spec_parallelism",
    "kube_job_spec_completions", "kube_cronjob_info", "kube_cronjob_spec_suspend",
    "kube_horizontalpodautoscaler_spec_min_replicas", "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas", "kube_horizontalpodautoscaler_status_desired_replicas",
)
# Which metrics drive each table: a table's hours are replaced only when its driver is present,
# so a file with only DCGM series does not wipe the pod_hours another file wrote.
DRIVERS: dict[str, tuple[str, ...]] = {
    "pod_hours": ("kube_pod_info",),
    "container_hours": ("kube_pod_info",),
    "node_hours": ("kube_node_status_allocatable",),
    "volume_hours": ("kubelet_volume_stats_used_bytes", "kubelet_volume_stats_capacity_bytes"),
    "node_gpu_hours": (DCGM_ACTIVE, DCGM_UTIL),
    "namespace_log_hours": ("loki_distributor_bytes_received_total",),
    "workload_spec_hours": SPEC_METRICS,
}
_CONTAINER = ("coalesce(container, '') NOT IN ('', 'POD') AND coalesce(image, 'x') <> ''")
_POD_NS = "coalesce(nullif(namespace, ''), nullif(labels['exported_namespace'], ''))"
_POD = "coalesce(nullif(pod, ''), nullif(labels['exported_pod'], ''))"


def _exec(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> None:
    con.execute(sql, params or [])


def build_facts(
    con: duckdb.DuckDBPyConnection, cluster: str, first_hour: datetime, last_hour: datetime, present: set[str]
) -> dict[str, int]:
    """Replace the cluster's hourly rows in ``[first_hour, last_hour]`` for each table whose
    driver metrics are present; returns rows written per table."""
    c = cluster
    replaced = [t for t, drivers in DRIVERS.items() if present.intersection(drivers)]
    for table in replaced:
        _exec(con, f"DELETE FROM {table} WHERE cluster = ? AND hour BETWEEN ? AND ?", [c, first_hour, last_hour])

    counters = ", ".join(f"'{m}'" for m in COUNTERS)
    # per series and hour, keyed by the integer series only: readers join _hser for the labels
    _exec(con, f"""
        CREATE OR REPLACE TEMP TABLE _hinc AS
        WITH c AS (SELECT series, hour, last, min FROM _h WHERE metric IN ({counters}))
        SELECT h.series, h.hour,
               CASE WHEN p.hour IS NOT NULL
                    THEN CASE WHEN h.last >= p.last THEN h.last - p.last ELSE h.last END
                    ELSE h.last - h.min END AS increase
        FROM c h LEFT JOIN c p ON p.series = h.series AND p.hour = h.hour - INTERVAL 1 HOUR""")

    if "pod_hours" in replaced:
        _pod_and_container_hours(con, c)
    if "node_hours" in replaced:
        _exec(con, """
            INSERT INTO node_hours BY NAME
            SELECT ?::VARCHAR AS cluster, node, hour,
                   coalesce(avg(avg) FILTER (resource = 'cpu'), 0) AS cpu_allocatable,
                   coalesce(avg(avg) FILTER (resource = 'memory'), 0) AS memory_allocatable,
                   coalesce(sum(avg) FILTER (resource IN ('nvidia_com_gpu', 'nvidia.com/gpu')), 0)
                       AS gpu_allocatable
            FROM _h WHERE metric = 'kube_node_status_allocatable' AND coalesce(node, '') <> ''
            GROUP BY 2, 3
            HAVING count(*) FILTER (resource IN ('cpu', 'memory')) > 0""", [c])
    if "volume_hours" in replaced:
        _exec(con, """
            INSERT INTO volume_hours BY NAME
            SELECT ?::VARCHAR AS cluster, hour, namespace, labels['persistentvolumeclaim'] AS pvc,
                   avg(avg) FILTER (metric = 'kubelet_volume_stats_used_bytes') AS used_bytes,
                   avg(avg) FILTER (metric = 'kubelet_volume_stats_capacity_bytes') AS capacity_bytes
            FROM _h WHERE metric IN ('kubelet_volume_stats_used_bytes', 'kubelet_volume_stats_capacity_bytes')
              AND namespace IS NOT NULL AND labels['persistentvolumeclaim'] IS NOT NULL
            GROUP BY 2, 3, 4""", [c])
    if "node_gpu_hours" in replaced:
        _exec(con, f"""
            INSERT INTO node_gpu_hours BY NAME
            SELECT ?::VARCHAR AS cluster, hour, node, gpu,
                   coalesce(avg(avg) FILTER (metric = '{DCGM_ACTIVE}'), avg(avg) FILTER (metric = '{DCGM_UTIL}') / 100)
                       AS active,
                   avg(avg) FILTER (metric = '{DCGM_FB}') * 1048576 AS fb_used_bytes,
                   CASE WHEN count(*) FILTER (metric = '{DCGM_ACTIVE}') > 0 THEN '{DCGM_ACTIVE}'
                        ELSE '{DCGM_UTIL}' END AS source_metric
            FROM (SELECT metric, hour, avg, coalesce(nullif(labels['Hostname'], ''), nullif(node, ''),
                                                      nullif(labels['kubernetes_node'], '')) AS node,
                            coalesce(labels['gpu'], labels['UUID'], '') AS gpu
                  FROM _h WHERE metric IN ('{DCGM_ACTIVE}', '{DCGM_UTIL}', '{DCGM_FB}'))
            WHERE node IS NOT NULL
            GROUP BY hour, node, gpu
            HAVING count(*) FILTER (metric IN ('{DCGM_ACTIVE}', '{DCGM_UTIL}')) > 0""", [c])
    if "namespace_log_hours" in replaced:
        _exec(con, """
            INSERT INTO namespace_log_hours BY NAME
            SELECT ?::VARCHAR AS cluster, hour, labels['tenant'] AS namespace, sum(increase) AS log_bytes
            FROM _hinc JOIN _hser USING (series) WHERE metric = 'loki_distributor_bytes_received_total'
              AND coalesce(labels['tenant'], '') <> ''
            GROUP BY 2, 3""", [c])
    if "workload_spec_hours" in replaced:
        _workload_spec_hours(con, c)

    counts = {}
    for table in replaced:
        n = con.execute(f"SELECT count(*) FROM {table} WHERE cluster = ? AND hour BETWEEN ? AND ?",
                        [c, first_hour, last_hour]).fetchone()[0]
        if n:
            counts[table] = n
    con.execute("DROP TABLE _hinc")
    return counts


def _pod_and_container_hours(con: duckdb.DuckDBPyConnection, c: str) -> None:
    # one GROUP BY over the rows of every source (requests, limits, usage), each picked by FILTER
    _exec(con, f"""
        CREATE OR REPLACE TEMP TABLE _hc AS
        SELECT namespace, pod, container, hour,
            sum(avg) FILTER (metric = 'kube_pod_container_resource_requests' AND resource = 'cpu') AS cpu_request,
            sum(avg) FILTER (metric = 'kube_pod_container_resource_requests' AND resource = 'memory')
                AS memory_request,
            sum(avg) FILTER (metric = 'kube_pod_container_resource_requests'
                             AND resource IN ('nvidia_com_gpu', 'nvidia.com/gpu')) AS gpu_request,
            sum(avg) FILTER (metric = 'kube_pod_container_resource_limits' AND resource = 'cpu') AS cpu_limit,
            sum(avg) FILTER (metric = 'kube_pod_container_resource_limits' AND resource = 'memory')
                AS memory_limit,
            sum(avg) FILTER (metric = 'container_cpu_usage_seconds_total') / 3600 AS cpu_usage,
            max(max) FILTER (metric = 'container_memory_working_set_bytes') AS memory_usage
        FROM (
            SELECT namespace, pod, container, hour, metric, resource, avg, max FROM _h
            WHERE metric IN ('kube_pod_container_resource_requests', 'kube_pod_container_resource_limits')
               OR (metric = 'container_memory_working_set_bytes' AND {_CONTAINER})
            UNION ALL  -- CPU usage: the hour's counter increase, in the avg column
            SELECT namespace, pod, container, hour, metric, NULL, increase, NULL
            FROM _hinc JOIN _hser USING (series)
            WHERE metric = 'container_cpu_usage_seconds_total' AND {_CONTAINER}
        ) WHERE namespace IS NOT NULL AND pod IS NOT NULL AND container IS NOT NULL
        GROUP BY 1, 2, 3, 4""")
    _exec(con, f"""
        CREATE OR REPLACE TEMP TABLE _hgpu AS
        SELECT {_POD_NS} AS namespace, {_POD} AS pod, coalesce(container, '') AS container, hour,
               avg(avg) FILTER (metric = '{DCGM_ACTIVE}') AS active, avg(avg) FILTER (metric = '{DCGM_UTIL}') / 100 AS util
        FROM _h WHERE metric IN ('{DCGM_ACTIVE}', '{DCGM_UTIL}') AND {_POD_NS} IS NOT NULL AND {_POD} IS NOT NULL
        GROUP BY 1, 2, 3, 4""")
    # a pod-hour: kube_pod_info and a Running phase in the hour, both found by one GROUP BY
    _exec(con, """
        CREATE OR REPLACE TEMP TABLE _hph AS
        WITH hours AS (
            SELECT namespace, pod, hour,
                   max(nullif(node, '')) FILTER (metric = 'kube_pod_info') AS node,
                   least(max(avg) FILTER (metric = 'kube_pod_status_phase'), 1.0) AS fraction
            FROM _h WHERE metric = 'kube_pod_info' OR (metric = 'kube_pod_status_phase' AND phase = 'Running')
            GROUP BY 1, 2, 3
            HAVING count(*) FILTER (metric = 'kube_pod_info') > 0)
        SELECT h.namespace, h.pod, h.hour, coalesce(h.node, p.node) AS node, h.fraction,
               p.workload_kind, p.workload_name
        FROM hours h JOIN _hpods p USING (namespace, pod)
        WHERE h.fraction > 0 AND coalesce(h.node, p.node) IS NOT NULL""")
    _exec(con, """
        INSERT INTO container_hours BY NAME
        SELECT ?::VARCHAR AS cluster, c.hour, c.namespace, c.pod, c.container, c.cpu_request, c.memory_request,
               c.gpu_request, c.cpu_limit, c.memory_limit, c.cpu_usage, c.memory_usage,
               coalesce(g.active, g.util) AS gpu_util
        FROM _hc c SEMI JOIN _hph h USING (namespace, pod, hour)
        LEFT JOIN _hgpu g ON g.namespace = c.namespace AND g.pod = c.pod AND g.container = c.container
             AND g.hour = c.hour""", [c])
    _exec(con, """
        INSERT INTO pod_hours BY NAME
        WITH per_pod AS (
            SELECT namespace, pod, hour, sum(cpu_request) AS cpu_request, sum(memory_request) AS memory_request,
                   sum(gpu_request) AS gpu_request,
                   CASE WHEN bool_and(cpu_limit IS NOT NULL) THEN sum(cpu_limit) END AS cpu_limit,
                   CASE WHEN bool_and(memory_limit IS NOT NULL) THEN sum(memory_limit) END AS memory_limit,
                   sum(cpu_usage) AS cpu_usage, sum(memory_usage) AS memory_usage
            FROM _hc GROUP BY 1, 2, 3),
        gpu AS (
            SELECT namespace, pod, hour, coalesce(avg(active), avg(util)) AS gpu_util FROM _hgpu GROUP BY 1, 2, 3),
        net AS (
            SELECT namespace, pod, hour, sum(increase) AS network_tx_bytes
            FROM _hinc JOIN _hser USING (series) WHERE metric = 'container_network_transmit_bytes_total'
            GROUP BY 1, 2, 3)
        SELECT ?::VARCHAR AS cluster, h.hour, h.namespace, h.pod, h.node, h.workload_kind, h.workload_name,
               h.fraction, coalesce(u.cpu_request, 0) AS cpu_request, coalesce(u.memory_request, 0) AS memory_request,
               coalesce(u.gpu_request, 0) AS gpu_request, u.cpu_limit, u.memory_limit, u.cpu_usage, u.memory_usage,
               g.gpu_util, n.network_tx_bytes
        FROM _hph h
        LEFT JOIN per_pod u USING (namespace, pod, hour)
        LEFT JOIN gpu g USING (namespace, pod, hour)
        LEFT JOIN net n USING (namespace, pod, hour)""", [c])


def _workload_spec_hours(con: duckdb.DuckDBPyConnection, c: str) -> None:
    _exec(con, """
        INSERT INTO workload_spec_hours BY NAME
        WITH hpa_target AS (
            SELECT namespace, labels['horizontalpodautoscaler'] AS hpa,
                   arg_max(labels['scaletargetref_kind'], hour) AS kind,
                   arg_max(labels['scaletargetref_name'], hour) AS name
            FROM _h WHERE metric = 'kube_horizontalpodautoscaler_info' GROUP BY 1, 2),
        fields AS (
            SELECT hour, namespace, 'Deployment' AS kind, labels['deployment'] AS name,
                   'replicas' AS field, ksm_num(last) AS value
            FROM _h WHERE metric = 'kube_deployment_spec_replicas'
            UNION ALL
            SELECT hour, namespace, 'StatefulSet', labels['statefulset'], 'replicas', ksm_num(last)
            FROM _h WHERE metric = 'kube_statefulset_replicas'
            UNION ALL
            SELECT hour, namespace, 'Job', job_name,
                   CASE metric WHEN 'kube_job_spec_parallelism' THEN 'parallelism' ELSE 'completions' END,
                   ksm_num(last)
            FROM _h WHERE metric IN ('kube_job_spec_parallelism', 'kube_job_spec_completions')
            UNION ALL
            SELECT hour, namespace, 'CronJob', labels['cronjob'], 'schedule', labels['schedule']
            FROM _h WHERE metric = 'kube_cronjob_info' AND labels['schedule'] IS NOT NULL
            UNION ALL
            SELECT hour, namespace, 'CronJob', labels['cronjob'], 'concurrency_policy',
                   labels['concurrency_policy']
            FROM _h WHERE metric = 'kube_cronjob_info' AND labels['concurrency_policy'] IS NOT NULL
            UNION ALL
            SELECT hour, namespace, 'CronJob', labels['cronjob'], 'suspend',
                   CASE WHEN last > 0 THEN 'true' ELSE 'false' END
            FROM _h WHERE metric = 'kube_cronjob_spec_suspend'
            UNION ALL
            SELECT s.hour, s.namespace, coalesce(t.kind, 'HorizontalPodAutoscaler'),
                   coalesce(t.name, s.labels['horizontalpodautoscaler']),
                   CASE s.metric WHEN 'kube_horizontalpodautoscaler_spec_min_replicas' THEN 'hpa_min'
                                 WHEN 'kube_horizontalpodautoscaler_spec_max_replicas' THEN 'hpa_max'
                                 WHEN 'kube_horizontalpodautoscaler_status_current_replicas' THEN 'hpa_current'
                                 ELSE 'hpa_desired' END,
                   ksm_num(s.last)
            FROM _h s LEFT JOIN hpa_target t ON t.namespace = s.namespace
                 AND t.hpa = s.labels['horizontalpodautoscaler']
            WHERE s.metric IN ('kube_horizontalpodautoscaler_spec_min_replicas',
                               'kube_horizontalpodautoscaler_spec_max_replicas',
                               'kube_horizontalpodautoscaler_status_current_replicas',
                               'kube_horizontalpodautoscaler_status_desired_replicas'))
        -- two series giving one field in one hour: the least value (a GROUP BY, not a sort)
        SELECT ?::VARCHAR AS cluster, hour, namespace, kind, name, field, min(value) AS value
        FROM fields WHERE namespace IS NOT NULL AND name IS NOT NULL
        GROUP BY hour, namespace, kind, name, field""", [c])
