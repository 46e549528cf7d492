"""The Prometheus series allot reads, and how each is reduced to hourly values.

One catalogue serves both history paths, so they land the same numbers in the same tables:

* ``allot ingest metrics FILE`` parses OpenMetrics/Prometheus text (with timestamps) and
  reduces raw samples per series and hour ``[H, H+1h)``;
* ``allot ingest prometheus`` asks Prometheus for the same reductions with
  ``<fn>_over_time(series[1h])`` evaluated at ``H + 1h - 1ms``.

Both produce *hourly series*: ``(metric, labels, hour, avg, max, min, last, samples)`` and
hand them to one builder (``tools.sources.history``) that fills the hourly tables.

Hourly semantics (the contract):

* gauge: ``avg`` is the hour's mean, ``max`` its maximum (memory working set uses ``max``);
* info / state series (value 0 or 1): present in an hour if it has a sample there; for
  ``kube_pod_status_phase`` the hour's ``avg`` of the Running series is the pod's ``fraction``;
* counter: the hour's increase is ``last(H) - last(H-1)``, or ``last(H) - min(H)`` when the
  series has no sample in ``H-1``; a negative difference is a reset and counts ``last(H)``.
  CPU cores are that increase / 3600; bytes sent are the increase.

The cluster comes from ``--cluster``, else a ``cluster`` label on the series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MetricType = Literal["gauge", "counter", "info"]


@dataclass(frozen=True)
class Metric:
    name: str
    type: MetricType
    labels: tuple[str, ...]          # labels the builder reads (others unused; see history.COLUMN_ONLY)
    source: str                      # exporter: kube-state-metrics, cadvisor, kubelet, dcgm, loki
    feeds: str                       # the table it fills
    selector: str = ""               # PromQL label matchers applied when querying Prometheus
    required: bool = True            # missing -> error for required, caveat otherwise


CATALOGUE: tuple[Metric, ...] = (
    # kube-state-metrics: pods
    Metric("kube_pod_info", "info", ("namespace", "pod", "uid", "node", "created_by_kind", "created_by_name"),
           "kube-state-metrics", "pods, pod_hours"),
    Metric("kube_pod_owner", "info", ("namespace", "pod", "owner_kind", "owner_name"),
           "kube-state-metrics", "owner_edges"),
    Metric("kube_pod_labels", "info", ("namespace", "pod"), "kube-state-metrics", "pods.labels", required=False),
    Metric("kube_pod_created", "gauge", ("namespace", "pod"), "kube-state-metrics", "pods.created_at", required=False),
    Metric("kube_pod_status_phase", "info", ("namespace", "pod", "phase"), "kube-state-metrics", "pod_hours.fraction"),
    Metric("kube_pod_container_resource_requests", "gauge", ("namespace", "pod", "container", "resource"),
           "kube-state-metrics", "container_hours, pod_hours"),
    Metric("kube_pod_container_resource_limits", "gauge", ("namespace", "pod", "container", "resource"),
           "kube-state-metrics", "container_hours, pod_hours", required=False),
    Metric("kube_pod_spec_volumes_persistentvolumeclaims_info", "info",
           ("namespace", "pod", "volume", "persistentvolumeclaim"), "kube-state-metrics", "pod_volumes",
           required=False),
    # nodes and namespaces
    Metric("kube_node_info", "info", ("node", "provider_id"), "kube-state-metrics", "nodes"),
    Metric("kube_node_labels", "info", ("node",), "kube-state-metrics", "nodes.labels", required=False),
    Metric("kube_node_status_allocatable", "gauge", ("node", "resource"), "kube-state-metrics", "node_hours"),
    Metric("kube_namespace_labels", "info", ("namespace",), "kube-state-metrics", "namespaces", required=False),
    Metric("kube_namespace_created", "gauge", ("namespace",), "kube-state-metrics", "namespaces.created_at",
           required=False),
    # controllers
    Metric("kube_replicaset_owner", "info", ("namespace", "replicaset", "owner_kind", "owner_name"),
           "kube-state-metrics", "owner_edges", required=False),
    Metric("kube_deployment_spec_replicas", "gauge", ("namespace", "deployment"), "kube-state-metrics",
           "workload_spec_hours", required=False),
    Metric("kube_deployment_labels", "info", ("namespace", "deployment"), "kube-state-metrics",
           "workloads.labels", required=False),
    Metric("kube_statefulset_replicas", "gauge", ("namespace", "statefulset"), "kube-state-metrics",
           "workload_spec_hours", required=False),
    Metric("kube_statefulset_labels", "info", ("namespace", "statefulset"), "kube-state-metrics",
           "workloads.labels", required=False),
    Metric("kube_daemonset_labels", "info", ("namespace", "daemonset"), "kube-state-metrics",
           "workloads.labels", required=False),
    Metric("kube_job_owner", "info", ("namespace", "job_name", "owner_kind", "owner_name"),
           "kube-state-metrics", "owner_edges, job_runs", required=False),
    Metric("kube_job_labels", "info", ("namespace", "job_name"), "kube-state-metrics", "workloads.labels",
           required=False),
    Metric("kube_job_created", "gauge", ("namespace", "job_name"), "kube-state-metrics", "job_runs", required=False),
    Metric("kube_job_spec_parallelism", "gauge", ("namespace", "job_name"), "kube-state-metrics",
           "job_runs, workload_spec_hours", required=False),
    Metric("kube_job_spec_completions", "gauge", ("namespace", "job_name"), "kube-state-metrics", "job_runs",
           required=False),
    Metric("kube_job_status_start_time", "gauge", ("namespace", "job_name"), "kube-state-metrics", "job_runs",
           required=False),
    Metric("kube_job_status_completion_time", "gauge", ("namespace", "job_name"), "kube-state-metrics",
           "job_runs", required=False),
    Metric("kube_job_status_succeeded", "gauge", ("namespace", "job_name"), "kube-state-metrics", "job_runs",
           required=False),
    Metric("kube_job_status_failed", "gauge", ("namespace", "job_name"), "kube-state-metrics", "job_runs",
           required=False),
    Metric("kube_job_status_active", "gauge", ("namespace", "job_name"), "kube-state-metrics", "job_runs",
           required=False),
    Metric("kube_cronjob_info", "info", ("namespace", "cronjob", "schedule", "concurrency_policy"),
           "kube-state-metrics", "workload_spec_hours", required=False),
    Metric("kube_cronjob_labels", "info", ("namespace", "cronjob"), "kube-state-metrics", "workloads.labels",
           required=False),
    Metric("kube_cronjob_created", "gauge", ("namespace", "cronjob"), "kube-state-metrics", "workloads",
           required=False),
    Metric("kube_cronjob_spec_suspend", "gauge", ("namespace", "cronjob"), "kube-state-metrics",
           "workload_spec_hours", required=False),
    # storage
    Metric("kube_persistentvolumeclaim_info", "info",
           ("namespace", "persistentvolumeclaim", "storageclass", "volumename"), "kube-state-metrics", "pvcs",
           required=False),
    Metric("kube_persistentvolumeclaim_resource_requests_storage_bytes", "gauge",
           ("namespace", "persistentvolumeclaim"), "kube-state-metrics", "pvcs", required=False),
    Metric("kube_persistentvolume_info", "info", ("persistentvolume", "storageclass"), "kube-state-metrics",
           "pvs", required=False),
    Metric("kube_persistentvolume_claim_ref", "info", ("persistentvolume", "name", "claim_namespace"),
           "kube-state-metrics", "pvs", required=False),
    Metric("kube_persistentvolume_status_phase", "info", ("persistentvolume", "phase"), "kube-state-metrics",
           "pvs", required=False),
    Metric("kube_persistentvolume_capacity_bytes", "gauge", ("persistentvolume",), "kube-state-metrics", "pvs",
           required=False),
    # autoscaling
    Metric("kube_horizontalpodautoscaler_info", "info",
           ("namespace", "horizontalpodautoscaler", "scaletargetref_kind", "scaletargetref_name"),
           "kube-state-metrics", "hpas", required=False),
    Metric("kube_horizontalpodautoscaler_spec_min_replicas", "gauge", ("namespace", "horizontalpodautoscaler"),
           "kube-state-metrics", "hpas, workload_spec_hours", required=False),
    Metric("kube_horizontalpodautoscaler_spec_max_replicas", "gauge", ("namespace", "horizontalpodautoscaler"),
           "kube-state-metrics", "hpas, workload_spec_hours", required=False),
    Metric("kube_horizontalpodautoscaler_status_current_replicas", "gauge",
           ("namespace", "horizontalpodautoscaler"), "kube-state-metrics", "workload_spec_hours", required=False),
    Metric("kube_horizontalpodautoscaler_status_desired_replicas", "gauge",
           ("namespace", "horizontalpodautoscaler"), "kube-state-metrics", "workload_spec_hours", required=False),
    Metric("kube_horizontalpodautoscaler_spec_target_metric", "gauge",
           ("namespace", "horizontalpodautoscaler", "metric_name"), "kube-state-metrics", "hpas", required=False),
    # cAdvisor (kubelet /metrics/cadvisor)
    Metric("container_cpu_usage_seconds_total", "counter", ("namespace", "pod", "container"), "cadvisor",
           "container_hours, pod_hours", selector='container!="",image!=""'),
    Metric("container_memory_working_set_bytes", "gauge", ("namespace", "pod", "container"), "cadvisor",
           "container_hours, pod_hours", selector='container!="",image!=""'),
    Metric("container_network_transmit_bytes_total", "counter", ("namespace", "pod"), "cadvisor",
           "pod_hours.network_tx_bytes", required=False),
    # kubelet volume stats
    Metric("kubelet_volume_stats_used_bytes", "gauge", ("namespace", "persistentvolumeclaim"), "kubelet",
           "volume_hours", required=False),
    Metric("kubelet_volume_stats_capacity_bytes", "gauge", ("namespace", "persistentvolumeclaim"), "kubelet",
           "volume_hours", required=False),
    # DCGM exporter (GR_ENGINE_ACTIVE preferred, GPU_UTIL 0..100 as fallback)
    Metric("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", ("gpu", "Hostname"), "dcgm", "node_gpu_hours, pod_hours",
           required=False),
    Metric("DCGM_FI_DEV_GPU_UTIL", "gauge", ("gpu", "Hostname"), "dcgm", "node_gpu_hours, pod_hours",
           required=False),
    Metric("DCGM_FI_DEV_FB_USED", "gauge", ("gpu", "Hostname"), "dcgm", "node_gpu_hours", required=False),
    # logs: Loki with one tenant per namespace
    Metric("loki_distributor_bytes_received_total", "counter", ("tenant",), "loki", "namespace_log_hours",
           required=False),
)

BY_NAME: dict[str, Metric] = {m.name: m for m in CATALOGUE}
