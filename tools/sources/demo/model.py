"""The world model: clusters, node pools, nodes, namespaces, workloads, volumes, services.

Everything here is small (definitions, not samples). Pods and Jobs are *derived* from the
workloads by generators (:mod:`tools.sources.demo.pods`), so writers stream them without
holding millions of objects in memory. Hours are indexes into the data window
(``WorldSpec.at(hour)``); ``[start_h, end_h)`` intervals may start before 0 (objects older
than the data) and are clipped by the writers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

GIB = 1024.0**3
MIB = 1024.0**2


@dataclass(frozen=True)
class InstanceType:
    name: str
    cpu: float                 # vCPUs (capacity)
    memory_gib: float          # capacity
    gpu: int
    price: float               # on-demand $/hour, whole instance (GPU included)
    gpu_price: float = 0.0     # part of `price` billed as a separate GPU line (GCP)
    gpu_model: str = ""

    @property
    def cpu_allocatable(self) -> float:
        return round(self.cpu - 0.09 - 0.01 * self.cpu, 3)

    @property
    def memory_allocatable(self) -> float:
        """Bytes: capacity minus kube/system reserved and the eviction threshold."""
        return float(int((self.memory_gib * 0.92 - 0.1) * 1024) * MIB)


@dataclass
class Cluster:
    name: str
    provider: str              # aws, gcp, azure
    region: str
    account_id: str            # AWS account / GCP project / Azure subscription
    account_name: str
    billing_account_id: str
    zones: list[str]
    node_resource_group: str = ""   # Azure: MC_ resource group
    vmss_suffix: str = ""           # Azure: the number in aks-<pool>-<n>-vmss
    created: datetime = datetime(2025, 3, 1)


@dataclass
class NodePool:
    cluster: str
    name: str
    instance: InstanceType
    capacity_type: str = "on-demand"         # on-demand, spot
    effective_rate: float = 1.0               # EffectiveCost / BilledCost (commitments)
    commitment: str = ""                      # 'Savings Plan', 'Committed Use Discount', ...
    spot_rate: float = 1.0                    # billed price / on-demand price for spot pools
    taints: list[dict] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    autoscaling: dict = field(default_factory=dict)  # {'enabled', 'min', 'max', 'by'}

    @property
    def hourly_price(self) -> float:
        return round(self.instance.price * self.spot_rate, 6)


@dataclass
class Node:
    cluster: str
    pool: str
    name: str
    index: int
    zone: str
    provider_id: str
    instance_id: str           # what the bill's ResourceId ends with (lowercase for gcp/azure)
    start_h: int
    end_h: int
    created: datetime
    gpu_activity: Callable[[int], float] | None = None  # hour -> 0..1 engine activity


@dataclass
class Namespace:
    cluster: str
    name: str
    labels: dict[str, str]
    created: datetime
    log_gib_per_day: float = 0.5
    log_jump: tuple[int, float] | None = None   # (hour, multiplier) from then on


@dataclass
class Container:
    name: str
    image: str
    cpu_request: float         # cores
    memory_request: float      # bytes
    cpu_limit: float | None = None
    memory_limit: float | None = None
    gpu: int = 0
    cpu_use: float = 0.8       # mean usage / request
    memory_use: float = 0.8
    noise: float = 0.08        # relative amplitude of hourly noise


@dataclass
class Revision:
    hour: int                  # first hour the revision's pods run
    number: int                # deployment.kubernetes.io/revision
    image_tag: str
    created: datetime
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class JobPlan:
    """How a Job-like workload runs: one run every `period_h` hours lasting `duration_h`."""

    schedule: str = ""                 # cron schedule (CronJob)
    period_h: int = 24
    offset_h: int = 0                  # hour of the period the run starts in
    duration_h: int = 1
    run_seconds: float = 3600.0        # real work per run (job completion - start)
    parallelism: int = 1
    completions: int | None = 1
    backoff_limit: int = 6
    concurrency_policy: str = "Forbid"
    history_limit: int = 3
    parallelism_changes: list[tuple[int, int]] = field(default_factory=list)  # (hour, new value)


@dataclass
class Workload:
    cluster: str
    namespace: str
    kind: str                  # Deployment, StatefulSet, DaemonSet, CronJob, Job
    name: str
    containers: list[Container]
    labels: dict[str, str] = field(default_factory=dict)       # on the controller and pods
    pool: str | list[str] = ""     # node pool(s); DaemonSets: list or '*' for all pools
    nodes: list[str] = field(default_factory=list)             # node per replica / lane
    replicas: int = 1
    created: datetime = datetime(2026, 9, 1)
    start_h: int = -10_000     # first hour it exists
    end_h: int = 10_000        # exclusive
    revisions: list[Revision] = field(default_factory=list)
    job: JobPlan | None = None
    hpa: dict | None = None    # {'min', 'max', 'current', 'target_cpu'}
    volume_claims: list[str] = field(default_factory=list)      # PVC names mounted (per replica suffix for STS)
    net_bytes_per_hour: float = 50 * MIB
    story: str = ""            # ground-truth story id, when planted
    special: str = ""          # custom pod generator name (ai_evals, retry_loop, every_minute)
    tolerations: list[dict] = field(default_factory=list)
    node_selector: dict[str, str] = field(default_factory=dict)
    service: str = ""          # Service selecting it, if any


@dataclass
class Volume:
    cluster: str
    pv: str
    volume_id: str                     # what the bill's ResourceId ends with
    storage_class: str
    size_gib: list[tuple[int, float]]  # (hour from which, size GiB)
    created: datetime
    claim: tuple[str, str] | None = None   # (namespace, pvc); None = no claim
    phase: str = "Bound"
    reclaim_policy: str = "Delete"
    zone: str = ""
    used_gib: Callable[[int], float] | None = None
    disk_name: str = ""
    story: str = ""
    former_claim: tuple[str, str] | None = None   # claimRef of a Released volume (claim deleted)

    def size_at(self, hour: int) -> float:
        size = self.size_gib[0][1]
        for start, gib in self.size_gib:
            if hour >= start:
                size = gib
        return size


@dataclass
class Service:
    cluster: str
    namespace: str
    name: str
    selector: dict[str, str]
    type: str = "ClusterIP"
    lb_ingress: str = ""       # hostname (AWS) or IP
    lb_resource_id: str = ""   # the bill's ResourceId
    lb_resource_name: str = ""
    ports: list[int] = field(default_factory=lambda: [80])


@dataclass
class StorageClass:
    cluster: str
    name: str
    provisioner: str
    parameters: dict[str, str]
    default: bool = False
    price_gib_month: float = 0.1


@dataclass
class World:
    """The whole estate. Writers read it; nothing here holds per-hour samples."""

    spec: object
    clusters: list[Cluster] = field(default_factory=list)
    pools: list[NodePool] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    namespaces: list[Namespace] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    storage_classes: list[StorageClass] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)   # extra planted events (cluster, object dict)

    def cluster(self, name: str) -> Cluster:
        return next(c for c in self.clusters if c.name == name)

    def pool(self, cluster: str, name: str) -> NodePool:
        return next(p for p in self.pools if p.cluster == cluster and p.name == name)

    def node(self, cluster: str, name: str) -> Node:
        return self._node_index()[(cluster, name)]

    def _node_index(self) -> dict[tuple[str, str], Node]:
        index = getattr(self, "_nodes_by_name", None)
        if index is None or len(index) != len(self.nodes):
            index = {(n.cluster, n.name): n for n in self.nodes}
            self._nodes_by_name = index
        return index

    def of(self, items: list, cluster: str) -> list:
        return [i for i in items if i.cluster == cluster]
