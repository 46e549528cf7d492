"""The EKS cluster ``eks-prod``: Karpenter pools (general with a Savings Plan, spot, a warm GPU pool).

Stories planted here: the 8x over-requested ``catalog/search-api``, the every-minute
``payments/cache-warmer`` CronJob, the endlessly retrying ``data-platform/backfill-orders``
Job, the warm ``gpu-inference`` pool with sporadic DCGM activity, and the ``checkout`` log jump.
Healthy controls: ``orders/orders-api``, ``orders/postgres`` (with its volume),
``orders/nightly-report`` and ``storefront/web`` (HPA on cpu).
"""

from __future__ import annotations

from datetime import datetime

from tools.sources.demo.builder import Builder, container, labels
from tools.sources.demo.model import Cluster, InstanceType, JobPlan, NodePool, Workload

M6I_2XL = InstanceType("m6i.2xlarge", 8, 32, 0, 0.384)
M6I_XL = InstanceType("m6i.xlarge", 4, 16, 0, 0.192)
G5_2XL = InstanceType("g5.2xlarge", 8, 32, 1, 1.212, gpu_model="NVIDIA-A10G")

GPU_BUSY_HOURS = (14, 15)     # UTC hours of the day the warm GPU pool does real work

CLUSTER = Cluster("eks-prod", "aws", "us-east-1", "111122223333", "acme-prod", "999988887777",
                  ["us-east-1a", "us-east-1b", "us-east-1c"], created=datetime(2025, 2, 10))
LOG_JUMP_HOUR = 216          # of the last two weeks (2026-11-18 00:00): checkout's logs jump 6x


def _karpenter(pool: str, capacity: str) -> dict[str, str]:
    return {"karpenter.sh/nodepool": pool, "karpenter.sh/capacity-type": capacity,
            "karpenter.k8s.aws/instance-category": "g" if "gpu" in pool else "m"}


def build_eks(b: Builder) -> None:
    c = CLUSTER
    b.world.clusters.append(c)
    spec = b.spec
    general = NodePool(c.name, "general", M6I_2XL, effective_rate=0.72, commitment="Savings Plan",
                       labels=_karpenter("general", "on-demand"),
                       autoscaling={"enabled": True, "by": "karpenter", "min": 0, "max": 20})
    spot = NodePool(c.name, "spot", M6I_XL, capacity_type="spot", spot_rate=0.38,
                    labels=_karpenter("spot", "spot"), autoscaling={"enabled": True, "by": "karpenter", "max": 20})
    gpu = NodePool(c.name, "gpu-inference", G5_2XL, labels=_karpenter("gpu-inference", "on-demand"),
                   taints=[{"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}],
                   autoscaling={"enabled": True, "by": "karpenter", "max": 4})
    b.pool(c, general, 4)
    b.pool(c, spot, 3)
    gpu_nodes = b.pool(c, gpu, 2)
    for n in gpu_nodes:
        n.gpu_activity = _sporadic_gpu(spec.seed, n.name)

    gp3 = b.storage_class(c, "gp3", "ebs.csi.aws.com", {"type": "gp3", "fsType": "ext4"}, 0.08, default=True)
    b.storage_class(c, "io2", "ebs.csi.aws.com", {"type": "io2", "iopsPerGB": "50"}, 0.125)

    sys_labels = labels(team="platform", owner="platform-team", env="prod", cost_center="cc-100")
    ks = b.namespace(c, "kube-system", {}, log_gib_per_day=1.0)
    mon = b.namespace(c, "monitoring", sys_labels | {"service": "observability"}, log_gib_per_day=0.6)
    ing = b.namespace(c, "ingress-nginx", sys_labels | {"service": "ingress"}, log_gib_per_day=2.0)
    every = ["*"]
    tol = [{"operator": "Exists"}]
    for name, image, cpu, mem in (("aws-node", "amazon-k8s-cni:v1.18.5", 0.05, 0.125),
                                  ("kube-proxy", "kube-proxy:v1.30.4-eksbuild.1", 0.1, 0.125)):
        b.workload(c, ks, "DaemonSet", name, [container(name, image, cpu, mem)], pool=every, tolerations=tol)
    b.workload(c, mon, "DaemonSet", "node-exporter", [container("node-exporter", "node-exporter:v1.8.2", 0.1, 0.176)],
               pool=every, tolerations=tol)
    b.workload(c, mon, "DaemonSet", "dcgm-exporter",
               [container("dcgm-exporter", "nvidia/dcgm-exporter:3.3.8-3.6.0", 0.1, 0.25)],
               pool=["gpu-inference"], tolerations=tol)
    b.deployment(c, ks, "coredns", "coredns:v1.11.3", 0.1, 0.25, 2, "general")
    b.deployment(c, ks, "karpenter", "karpenter/controller:1.0.6", 0.5, 1.0, 2, "general")
    b.deployment(c, ks, "metrics-server", "metrics-server:v0.7.2", 0.1, 0.2, 1, "general")
    b.deployment(c, ks, "ebs-csi-controller", "aws-ebs-csi-driver:v1.35.0", 0.1, 0.25, 2, "general")
    prom = b.workload(c, mon, "StatefulSet", "prometheus", [container("prometheus", "prometheus:v2.54.1", 2.0, 8.0)],
                      pool="general", volume_claims=["data"])
    b.volume(c, gp3, ("monitoring", "data-prometheus-0"), 200, created=prom.created, used=lambda h: 120 + 0.01 * h)
    b.deployment(c, mon, "grafana", "grafana:11.2.0", 0.25, 0.5, 1, "general")
    b.deployment(c, mon, "kube-state-metrics", "kube-state-metrics:v2.13.0", 0.1, 0.25, 1, "general")
    b.deployment(c, ing, "ingress-nginx-controller", "ingress-nginx/controller:v1.11.2", 0.5, 0.5, 2, "general")
    b.service(c, "ingress-nginx", "ingress-nginx-controller", {"app.kubernetes.io/name": "ingress-nginx-controller"},
              lb=True)

    store = b.namespace(c, "storefront", labels("web-team", "web", "storefront", "prod", "cc-210", "service"))
    web = b.deployment(c, store, "web", "acme/storefront-web:4.12.0", 0.75, 1.0, 4, "general", cpu_use=0.3,
                       labels=labels(service="storefront-web"))
    web.hpa = {"min": 3, "max": 10, "current": 4, "target_cpu": 70}
    b.namespace(c, "checkout", labels("payments-team", "payments", "checkout", "prod", "cc-220", "service"),
                log_gib_per_day=3.0, log_jump=(spec.story_hour(LOG_JUMP_HOUR), 6.0))
    b.deployment(c, "checkout", "checkout-api", "acme/checkout-api:2.8.1", 1.0, 2.0, 3, "general")
    orders = b.namespace(c, "orders", labels("orders-team", "orders", "orders", "prod", "cc-230", "service"))
    b.deployment(c, orders, "orders-api", "acme/orders-api:3.4.0", 0.5, 1.0, 3, "general", story="control")
    pg = b.workload(c, orders, "StatefulSet", "postgres", [container("postgres", "postgres:16.4", 1.0, 4.0)],
                    pool="general", volume_claims=["data"], story="control")
    b.volume(c, gp3, ("orders", "data-postgres-0"), 100, created=pg.created, used=lambda h: 58 + 0.002 * h)
    b.cronjob(c, orders, "nightly-report", "acme/orders-report:1.9.2", 1.0, 2.0, "general",
              JobPlan("0 2 * * *", 24, 2, 1, 2400.0), story="control")
    catalog = b.namespace(c, "catalog", labels("search-team", "search", "catalog", "prod", "cc-240", "service"))
    b.deployment(c, catalog, "search-api", "acme/search-api:5.0.3", 4.0, 8.0, 3, "general", cpu_use=0.125,
                 mem_use=0.125, story="over_requested")
    b.deployment(c, catalog, "catalog-api", "acme/catalog-api:1.22.0", 0.5, 1.0, 2, "general")
    pay = b.namespace(c, "payments", labels("payments-team", "payments", "payments", "prod", "cc-220", "service"))
    b.deployment(c, pay, "payments-api", "acme/payments-api:7.1.4", 0.5, 1.0, 2, "spot")
    b.cronjob(c, pay, "cache-warmer", "acme/cache-warmer:0.4.1", 2.0, 2.0, "spot",
              JobPlan("* * * * *", 1, 0, 1, 40.0, concurrency_policy="Allow", backoff_limit=2),
              special="every_minute", story="cronjob_too_frequent", created=datetime(2026, 10, 27, 15))
    dp = b.namespace(c, "data-platform", labels("data-eng", "data", "etl", "prod", "cc-300", "batch"))
    b.deployment(c, dp, "etl-worker", "acme/etl-worker:2.3.0", 1.0, 4.0, 4, "spot")
    b.workload(c, dp, "Job", "backfill-orders", [container("backfill", "acme/backfill:0.9.0", 1.0, 2.0)],
               pool="spot", job=JobPlan(backoff_limit=1000), special="retry_loop",
               start_h=-120, created=spec.at(-120), story="job_retry_loop")
    ml = b.namespace(c, "ml-inference", labels("ml-platform", "ml", "ranker", "prod", "cc-400", "inference"))
    b.deployment(c, ml, "ranker-gpu", "acme/ranker-triton:24.08", 6.0, 24.0, 2, "gpu-inference", gpu=1,
                 story="gpu_warm_idle", tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists",
                                                       "effect": "NoSchedule"}])
    b.deployment(c, ml, "feature-cache", "redis:7.4", 0.5, 2.0, 1, "general")
    b.namespace(c, "analytics", {"team": "analytics"})   # owner and cost_center deliberately missing
    b.deployment(c, "analytics", "reporting-ui", "acme/reporting-ui:0.8.0", 0.5, 1.0, 1, "spot")


def _sporadic_gpu(seed: int, node: str):
    """Busy (0.55..0.85) in GPU_BUSY_HOURS each day, idle (0.0) otherwise."""
    from tools.sources.demo.usage import rng

    def activity(hour: int) -> float:
        if hour % 24 in GPU_BUSY_HOURS:
            return round(0.55 + 0.3 * rng(seed, "gpu", node, hour).random(), 4)
        return 0.0

    return activity


def story_workloads(workloads: list[Workload]) -> list[Workload]:
    return [w for w in workloads if w.cluster == CLUSTER.name and w.story]
