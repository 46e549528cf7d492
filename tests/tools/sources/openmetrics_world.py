"""A small hand-made cluster history written as OpenMetrics, with the demo files' timing.

One sample per series and hour at ``H + 30min``; every counter series also gets a 0 sample at
its first hour's start. Families are contiguous, counters are named ``<family>_total``,
timestamps are in seconds, ``# EOF`` is last: valid for prometheus_client's parser and for
``promtool tsdb create-blocks-from openmetrics``.

Cluster ``alpha``: two nodes (one with a GPU), a Deployment with a two-container pod and a pod
that starts later, a CronJob's Job on the GPU node (DCGM_FI_DEV_GPU_UTIL throughout,
DCGM_FI_PROF_GR_ENGINE_ACTIVE from hour 3 only, so the first hours fall back), a bare pod, a PVC, a pause container (``image=""``) that must be ignored,
and one CPU counter reset. Cluster ``beta``: one node and one pod, no GPU. Cluster ``gamma``:
a GPU node and a GPU pod but no DCGM series (GPU usage unknown).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

START = datetime(2026, 11, 2, 0, 0)
HOURS = 8
GIB = 2 ** 30


def _ts(at: datetime) -> str:
    return str(int(at.replace(tzinfo=timezone.utc).timestamp()))


@dataclass
class Pod:
    cluster: str
    namespace: str
    name: str
    node: str
    owner_kind: str
    owner_name: str
    hours: range
    containers: dict[str, tuple[float, float]]      # container -> (cpu request cores, memory request bytes)
    cpu_rate: float                                  # cores used per container
    gpu: int = 0
    pvc: str | None = None
    dcgm: bool = True


PODS = [
    Pod("alpha", "shop", "web-7d9f-abc", "ip-10-0-1-1", "ReplicaSet", "web-7d9f", range(0, 8),
        {"app": (0.5, 1 * GIB), "sidecar": (0.1, 0.25 * GIB)}, 0.137, pvc="web-data"),
    Pod("alpha", "shop", "web-7d9f-def", "ip-10-0-1-1", "ReplicaSet", "web-7d9f", range(3, 8),
        {"app": (0.5, 1 * GIB), "sidecar": (0.1, 0.25 * GIB)}, 0.291),
    Pod("alpha", "ml", "train-29391-x7k", "ip-10-0-2-2", "Job", "train-29391", range(1, 6),
        {"main": (3.0, 12 * GIB)}, 2.713, gpu=1),
    Pod("alpha", "kube-system", "coredns-5d78-q2", "ip-10-0-1-1", "ReplicaSet", "coredns-5d78", range(0, 8),
        {"coredns": (0.1, 70 * 2 ** 20)}, 0.013),
    Pod("alpha", "shop", "debug", "ip-10-0-2-2", "<none>", "<none>", range(4, 6),
        {"shell": (0.05, 64 * 2 ** 20)}, 0.0071),
    Pod("beta", "api", "api-6b8c-zz", "gke-beta-pool-1-abcd", "ReplicaSet", "api-6b8c", range(0, 8),
        {"api": (1.0, 2 * GIB)}, 0.777),
    Pod("gamma", "vision", "infer-0", "aks-gpu-12345-vmss000000", "StatefulSet", "infer", range(2, 8),
        {"server": (4.0, 24 * GIB)}, 1.234, gpu=1, dcgm=False),
]
NODES = {
    ("alpha", "ip-10-0-1-1"): ("aws:///eu-west-1a/i-0aaa1111", "general", 3.92, 15.3 * GIB, 0),
    ("alpha", "ip-10-0-2-2"): ("aws:///eu-west-1b/i-0bbb2222", "gpu", 7.91, 30.6 * GIB, 1),
    ("beta", "gke-beta-pool-1-abcd"): ("gce://proj/europe-west1-b/gke-beta-pool-1-abcd", "pool-1", 1.93, 5.8 * GIB, 0),
    ("gamma", "aks-gpu-12345-vmss000000"): (
        "azure:///subscriptions/s1/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/"
        "aks-gpu-12345-vmss/virtualMachines/0", "gpu", 5.84, 52.4 * GIB, 1),
}
OWNERS = {  # controller -> its owner
    ("alpha", "shop", "ReplicaSet", "web-7d9f"): ("Deployment", "web"),
    ("alpha", "kube-system", "ReplicaSet", "coredns-5d78"): ("Deployment", "coredns"),
    ("alpha", "ml", "Job", "train-29391"): ("CronJob", "train"),
    ("beta", "api", "ReplicaSet", "api-6b8c"): ("Deployment", "api"),
}


class Families:
    """Samples grouped by family, written family by family."""

    def __init__(self) -> None:
        self.types: dict[str, str] = {}
        self.series: dict[str, dict[str, list[tuple[datetime, float]]]] = defaultdict(lambda: defaultdict(list))

    def add(self, family: str, kind: str, labels: dict[str, str], at: datetime, value: float) -> None:
        self.types[family] = kind
        name = f"{family}_total" if kind == "counter" else family
        text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        self.series[family][f"{name}{{{text}}}"].append((at, value))

    def text(self) -> str:
        lines = []
        for family, kind in self.types.items():
            lines.append(f"# TYPE {family} {kind}")
            for series, samples in self.series[family].items():
                for at, value in sorted(samples):
                    lines.append(f"{series} {value!r} {_ts(at)}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def _hour(h: int, minutes: int = 30) -> datetime:
    return START + timedelta(hours=h, minutes=minutes)


def build() -> Families:
    f = Families()
    for (cluster, node), (provider_id, pool, cpu, memory, gpus) in NODES.items():
        for h in range(HOURS):
            at = _hour(h)
            f.add("kube_node_info", "gauge", {"cluster": cluster, "node": node, "provider_id": provider_id}, at, 1)
            f.add("kube_node_labels", "gauge", {"cluster": cluster, "node": node,
                                                "label_eks_amazonaws_com_nodegroup": pool}, at, 1)
            for resource, value in (("cpu", cpu), ("memory", memory), ("nvidia_com_gpu", gpus)):
                if value:
                    f.add("kube_node_status_allocatable", "gauge",
                          {"cluster": cluster, "node": node, "resource": resource}, at, value)
    for (cluster, ns), team in {("alpha", "shop"): "checkout", ("alpha", "ml"): "research",
                                ("alpha", "kube-system"): "", ("beta", "api"): "platform",
                                ("gamma", "vision"): "vision"}.items():
        for h in range(HOURS):
            labels = {"cluster": cluster, "namespace": ns}
            if team:
                labels["label_team"] = team
            f.add("kube_namespace_labels", "gauge", labels, _hour(h), 1)
    for (cluster, ns, kind, name), (owner_kind, owner_name) in OWNERS.items():
        family = "kube_replicaset_owner" if kind == "ReplicaSet" else "kube_job_owner"
        key = "replicaset" if kind == "ReplicaSet" else "job_name"
        for h in range(HOURS):
            f.add(family, "gauge", {"cluster": cluster, "namespace": ns, key: name, "owner_kind": owner_kind,
                                    "owner_name": owner_name, "owner_is_controller": "true"}, _hour(h), 1)
    for pod in PODS:
        _pod_series(f, pod)
    return f


def _pod_series(f: Families, pod: Pod) -> None:
    base = {"cluster": pod.cluster, "namespace": pod.namespace, "pod": pod.name}
    first = pod.hours[0]
    cpu_total: dict[str, float] = {c: 0.0 for c in pod.containers}
    tx_total = 0.0
    for h in pod.hours:
        at = _hour(h)
        f.add("kube_pod_info", "gauge", {**base, "uid": f"uid-{pod.name}", "node": pod.node,
                                         "created_by_kind": pod.owner_kind, "created_by_name": pod.owner_name}, at, 1)
        f.add("kube_pod_owner", "gauge", {**base, "owner_kind": pod.owner_kind, "owner_name": pod.owner_name,
                                          "owner_is_controller": "true"}, at, 1)
        for phase in ("Pending", "Running", "Succeeded"):
            f.add("kube_pod_status_phase", "gauge", {**base, "phase": phase}, at, 1 if phase == "Running" else 0)
        for index, (container, (cpu, memory)) in enumerate(pod.containers.items()):
            c = {**base, "container": container}
            f.add("kube_pod_container_resource_requests", "gauge", {**c, "resource": "cpu", "unit": "core"}, at, cpu)
            f.add("kube_pod_container_resource_requests", "gauge", {**c, "resource": "memory", "unit": "byte"},
                  at, memory)
            if pod.gpu and index == 0:
                f.add("kube_pod_container_resource_requests", "gauge",
                      {**c, "resource": "nvidia_com_gpu", "unit": "integer"}, at, pod.gpu)
            f.add("kube_pod_container_resource_limits", "gauge", {**c, "resource": "memory", "unit": "byte"},
                  at, memory * 1.5)
            cadvisor = {**c, "image": f"registry.example/{container}:1.{index}"}
            if h == first:
                f.add("container_cpu_usage_seconds", "counter", cadvisor, _hour(h, 0), 0.0)
            if pod.name == "web-7d9f-abc" and container == "app" and h == 5:
                cpu_total[container] = 0.0                       # the container restarted: counter reset
            cpu_total[container] += 1800 * pod.cpu_rate * (1 + 0.1 * (h % 3)) * (1 + index)
            f.add("container_cpu_usage_seconds", "counter", cadvisor, at, round(cpu_total[container], 6))
            f.add("container_memory_working_set_bytes", "gauge", cadvisor, at,
                  float(int(memory * (0.4 + 0.07 * (h % 4)))))
        pause = {**base, "container": "POD", "image": ""}
        if h == first:
            f.add("container_cpu_usage_seconds", "counter", pause, _hour(h, 0), 0.0)
        f.add("container_cpu_usage_seconds", "counter", pause, at, 0.5 * (h - first + 1))
        if h == first:
            f.add("container_network_transmit_bytes", "counter", {**base, "interface": "eth0"}, _hour(h, 0), 0.0)
        tx_total += 1e6 * (3 + h) * (1 + len(pod.name) % 3)
        f.add("container_network_transmit_bytes", "counter", {**base, "interface": "eth0"}, at, tx_total)
        if pod.pvc:
            f.add("kubelet_volume_stats_used_bytes", "gauge",
                  {"cluster": pod.cluster, "namespace": pod.namespace, "persistentvolumeclaim": pod.pvc},
                  at, float(3 * GIB + h * 12345))
        if pod.gpu and pod.dcgm:
            gpu = {"cluster": pod.cluster, "gpu": "0", "UUID": "GPU-1234", "Hostname": pod.node,
                   "namespace": pod.namespace, "pod": pod.name, "container": "main"}
            f.add("DCGM_FI_DEV_GPU_UTIL", "gauge", gpu, at, float(35 + 9 * (h % 5)))
            if h >= 3:       # profiling metrics only from hour 3: earlier hours fall back to GPU_UTIL
                f.add("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "gauge", gpu, at, 0.5 + 0.01 * h)
            f.add("DCGM_FI_DEV_FB_USED", "gauge", gpu, at, float(20000 + 100 * h))


def write(path: Path) -> Path:
    """Write the world's history to ``path``."""
    path.write_text(build().text())
    return path
