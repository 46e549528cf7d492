"""The GKE cluster ``gke-ml``: a default pool and an on-demand L4 GPU pool used by ai-evals.

Headline story (issue 4): on 2026-11-17 10:00 UTC (second week) a deploy of
``ai-evals/eval-controller`` raises the ``ai-evals/eval-harness`` Job's parallelism from 2 to
6; the ``gpu-l4`` pool scales from 2 to 6 nodes that hour. Each eval pod requests its whole
GPU node (all allocatable CPU, memory and the GPU), and nothing else runs there (no
DaemonSet tolerates the pool's taint; GKE collects DCGM itself), so ai-evals' cost delta is
exactly the added GPU node cost. Everything else in the cluster is flat week over week except
two known bill changes: ``recsys/feature-store`` arrives on 2026-11-18 with one more
``default-pool`` node, and the ``embeddings/vector-index`` volume grows (PVC resized twice).
"""

from __future__ import annotations

from datetime import datetime

from tools.sources.demo.builder import Builder, container, labels, revision
from tools.sources.demo.model import Cluster, InstanceType, JobPlan, NodePool

N2_8 = InstanceType("n2-standard-8", 8, 32, 0, 0.4275)
G2_8 = InstanceType("g2-standard-8", 8, 32, 1, 0.9084, gpu_price=0.6165, gpu_model="nvidia-l4")

CLUSTER = Cluster("gke-ml", "gcp", "europe-west4", "acme-ml-prod", "acme-ml-prod", "01A2B3-C4D5E6-F7A8B9",
                  ["europe-west4-a", "europe-west4-b", "europe-west4-c"], created=datetime(2025, 4, 2))
EVAL_DEPLOY_HOUR = 202        # of the last two weeks (spec.story_hour): 2026-11-17 10:00
FEATURE_STORE_HOUR = 216      # 2026-11-18 00:00
EVAL_PARALLELISM = (2, 6)
EMBED_RESIZES = ((-10_000, 400.0), (32, 600.0), (288, 800.0))   # PVC size (GiB) from hour
EMBED_USED_START_GIB, EMBED_GROWTH_GIB_PER_DAY = 300.0, 15.0


def build_gke(b: Builder) -> None:
    c = CLUSTER
    b.world.clusters.append(c)
    spec = b.spec
    default = NodePool(c.name, "default-pool", N2_8, autoscaling={"enabled": True, "by": "gke", "min": 3, "max": 6})
    gpu = NodePool(c.name, "gpu-l4", G2_8, labels={"cloud.google.com/gke-accelerator": "nvidia-l4"},
                   taints=[{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}],
                   autoscaling={"enabled": True, "by": "gke", "min": 0, "max": 8})
    deploy_h, feature_h = spec.story_hour(EVAL_DEPLOY_HOUR), spec.story_hour(FEATURE_STORE_HOUR)
    default_nodes = b.pool(c, default, 3, extra=[(feature_h, 1)])
    gpu_nodes = b.pool(c, gpu, EVAL_PARALLELISM[0], extra=[(deploy_h, EVAL_PARALLELISM[1] - EVAL_PARALLELISM[0])])
    for n in gpu_nodes:
        n.gpu_activity = _busy_gpu(spec.seed, n.name)

    std = b.storage_class(c, "standard-rwo", "pd.csi.storage.gke.io", {"type": "pd-balanced"}, 0.11, default=True)
    ssd = b.storage_class(c, "premium-rwo", "pd.csi.storage.gke.io", {"type": "pd-ssd"}, 0.187)

    ks = b.namespace(c, "kube-system", {}, log_gib_per_day=0.8)
    mon = b.namespace(c, "monitoring", labels("ml-platform", "ml-platform", "observability", "prod", "cc-400"),
                      log_gib_per_day=0.4)
    pools = ["default-pool"]
    for name, image, cpu, mem in (("kube-proxy", "kube-proxy:v1.30.5-gke.1014001", 0.1, 0.1),
                                  ("fluentbit-gke", "fluent-bit:v1.8.12-gke.35", 0.1, 0.2)):
        b.workload(c, ks, "DaemonSet", name, [container(name, image, cpu, mem)], pool=pools)
    b.deployment(c, ks, "kube-dns", "k8s-dns-kube-dns:1.23.0-gke.9", 0.26, 0.11, 2, "default-pool")
    b.deployment(c, ks, "metrics-server", "metrics-server:v0.7.1-gke.23", 0.05, 0.1, 1, "default-pool")
    prom = b.workload(c, mon, "StatefulSet", "prometheus", [container("prometheus", "prometheus:v2.54.1", 1.5, 6.0)],
                      pool="default-pool", volume_claims=["data"])
    b.volume(c, std, ("monitoring", "data-prometheus-0"), 100, created=prom.created, used=lambda h: 61 + 0.005 * h)
    b.deployment(c, mon, "kube-state-metrics", "kube-state-metrics:v2.13.0", 0.1, 0.25, 1, "default-pool")

    evals = b.namespace(c, "ai-evals", labels("ml-research", "ml-research", "ai-evals", "prod", "cc-410", "eval"),
                        log_gib_per_day=0.5)
    ctl = b.deployment(c, evals, "eval-controller", "acme/eval-controller", 0.5, 1.0, 1, "default-pool")
    ctl.revisions = [revision(spec, deploy_h - 24 * 38, 7, "v1.7.2", {"EVAL_PARALLELISM": "2"}),
                     revision(spec, deploy_h, 8, "v1.8.0", {"EVAL_PARALLELISM": "6"})]
    it = G2_8
    harness = b.workload(
        c, evals, "Job", "eval-harness",
        [container("evaluator", "acme/eval-harness:2026.11.2", it.cpu_allocatable, it.memory_allocatable / 1024**3,
                   gpu=1, cpu_use=0.7, mem_use=0.75)],
        pool="gpu-l4", start_h=-24 * 6, created=spec.at(-24 * 6), story="ai_evals",
        job=JobPlan(parallelism=EVAL_PARALLELISM[0], completions=2000, backoff_limit=6,
                    parallelism_changes=[(deploy_h, EVAL_PARALLELISM[1])]),
        labels={"app.kubernetes.io/part-of": "ai-evals"},   # workload_type=eval comes from the namespace
        tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        node_selector={"cloud.google.com/gke-nodepool": "gpu-l4"})
    harness.containers[0].memory_request = harness.containers[0].memory_limit = it.memory_allocatable
    b.pin(harness, gpu_nodes)

    emb = b.namespace(c, "embeddings", labels("search-ml", "search-ml", "embeddings", "prod", "cc-420", "pipeline"))
    vec = b.workload(c, emb, "StatefulSet", "vector-index", [container("qdrant", "qdrant/qdrant:v1.11.3", 2.0, 8.0)],
                     pool="default-pool", volume_claims=["data"], story="embedding_growth",
                     labels={"workload_type": "pipeline"})
    sizes = [(spec.story_hour(h) if h > 0 else h, gib) for h, gib in EMBED_RESIZES]
    b.volume(c, ssd, ("embeddings", "data-vector-index-0"), sizes, created=vec.created,
             used=lambda h: max(20.0, EMBED_USED_START_GIB + EMBED_GROWTH_GIB_PER_DAY * (h - spec.story_hour(0)) / 24),
             story="embedding_growth")
    b.deployment(c, emb, "embed-worker", "acme/embed-worker:0.14.0", 1.5, 4.0, 3, "default-pool")
    rec = b.namespace(c, "recsys", labels("recsys-team", "recsys", "recommendations", "prod", "cc-430", "service"))
    b.deployment(c, rec, "recsys-api", "acme/recsys-api:3.0.1", 1.0, 2.0, 4, "default-pool")
    b.service(c, "recsys", "recsys-api", {"app.kubernetes.io/name": "recsys-api"}, lb=True)
    fs = b.deployment(c, rec, "feature-store", "feast/feature-server:0.40.1", 2.0, 6.0, 3, "default-pool",
                      start_h=feature_h, created=spec.at(feature_h))
    fs.revisions = [revision(spec, feature_h, 1, "0.40.1")]
    b.pin(fs, [default_nodes[-1]] * 3)
    td = b.namespace(c, "training-data", labels("ml-platform", "ml-platform", "datasets", "prod", "cc-400", "batch"))
    b.cronjob(c, td, "build-dataset", "acme/dataset-builder:1.3.0", 2.0, 8.0, "default-pool",
              JobPlan("0 3 * * *", 24, 3, 2, 5400.0), story="control")
    b.deployment(c, td, "dataset-api", "acme/dataset-api:1.3.0", 0.5, 1.0, 2, "default-pool")
    b.namespace(c, "notebooks", {})   # no owner labels at all
    b.deployment(c, "notebooks", "jupyter", "jupyter/scipy-notebook:2024-10-07", 1.0, 4.0, 2, "default-pool")


def _busy_gpu(seed: int, node: str):
    from tools.sources.demo.usage import rng

    def activity(hour: int) -> float:
        return round(0.7 + 0.25 * rng(seed, "gpu", node, hour).random(), 4)

    return activity
