"""Build the world a spec names: the three-cluster estate, plus a bulk pool per cluster for tiers.

The bulk pool (benchmark tiers S/M/L) holds ``bulk_nodes_per_cluster`` nodes with
``bulk_pods_per_node`` concurrent pods on average: long-running Deployments (10 replicas each,
spread round-robin) and CronJobs whose runs (3 pods, 2 hours, every 3 hours) bring Job churn.
Bulk workloads are placed arithmetically (no search), so building a 3,000-node world takes
seconds and stays small in memory.
"""

from __future__ import annotations

from tools.sources.demo.builder import Builder, container, labels
from tools.sources.demo.estate_aks import CLUSTER as AKS, build_aks
from tools.sources.demo.estate_eks import CLUSTER as EKS, build_eks
from tools.sources.demo.estate_gke import CLUSTER as GKE, build_gke
from tools.sources.demo.model import InstanceType, JobPlan, NodePool, World
from tools.sources.demo.spec import WorldSpec

BULK_TYPES = {
    "aws": InstanceType("m6i.4xlarge", 16, 64, 0, 0.768),
    "gcp": InstanceType("n2-standard-16", 16, 64, 0, 0.855),
    "azure": InstanceType("Standard_D16s_v5", 16, 64, 0, 0.92),
}
BULK_POD_CPU, BULK_POD_MEM_GIB = 0.4, 1.0
BULK_DEPLOYMENT_REPLICAS = 10
BULK_JOB = JobPlan("0 */3 * * *", period_h=3, offset_h=0, duration_h=2, run_seconds=6600.0, parallelism=3,
                   completions=3)
NODES_PER_TEAM = 10
# every preset has the same three clusters; the bulk pools only make them larger
CLUSTER_NAMES = (EKS.name, GKE.name, AKS.name)


def build_world(spec: WorldSpec) -> World:
    """The world for `spec`: definitions only (pods are derived lazily by the writers)."""
    world = World(spec=spec)
    b = Builder(world)
    build_eks(b)
    build_gke(b)
    build_aks(b)
    if not spec.stories:
        for w in world.workloads:
            w.story = "" if w.story != "control" else w.story
    b.place()
    if spec.bulk_nodes_per_cluster:
        for cluster in list(world.clusters):
            _bulk(b, cluster, spec)
    return world


def _bulk(b: Builder, cluster, spec: WorldSpec) -> None:
    n_nodes = spec.bulk_nodes_per_cluster
    pool = NodePool(cluster.name, "bulk", BULK_TYPES[cluster.provider],
                    labels={"workload-class": "bulk"},
                    autoscaling={"enabled": True, "by": "karpenter" if cluster.provider == "aws" else "autoscaler",
                                 "min": 0, "max": n_nodes * 2})
    nodes = b.pool(cluster, pool, n_nodes)
    job_pods = spec.bulk_pods_per_node * spec.bulk_job_share
    dep_pods_per_node = max(1, round(spec.bulk_pods_per_node - job_pods))
    run_pods = BULK_JOB.parallelism * BULK_JOB.duration_h / BULK_JOB.period_h   # avg concurrent pods per CronJob
    cron_per_node = round(job_pods / run_pods) if job_pods else 0
    teams = max(1, n_nodes // NODES_PER_TEAM)
    for t in range(teams):
        b.namespace(cluster, f"team-{t:03d}", labels(f"owner-{t:03d}", f"team-{t:03d}", f"svc-{t:03d}", "prod",
                                                     f"cc-{500 + t % 40}", "service"))
    n_deployments = n_nodes * dep_pods_per_node // BULK_DEPLOYMENT_REPLICAS
    slot = 0
    for d in range(n_deployments):
        ns = f"team-{d % teams:03d}"
        w = b.workload(cluster, ns, "Deployment", f"svc-{d:05d}",
                       [container("app", f"acme/svc-{d % 97}:1.{d % 13}.0", BULK_POD_CPU, BULK_POD_MEM_GIB)],
                       pool="bulk", replicas=BULK_DEPLOYMENT_REPLICAS)
        w.nodes = [nodes[(slot + r) % n_nodes].name for r in range(BULK_DEPLOYMENT_REPLICAS)]
        slot += BULK_DEPLOYMENT_REPLICAS
    for k in range(n_nodes * cron_per_node):
        ns = f"team-{k % teams:03d}"
        plan = JobPlan(BULK_JOB.schedule, BULK_JOB.period_h, k % BULK_JOB.period_h, BULK_JOB.duration_h,
                       BULK_JOB.run_seconds, BULK_JOB.parallelism, BULK_JOB.completions)
        plan.schedule = f"0 {plan.offset_h}-23/3 * * *"
        w = b.workload(cluster, ns, "CronJob", f"batch-{k:05d}",
                       [container("job", f"acme/batch-{k % 53}:2.{k % 7}.0", BULK_POD_CPU, BULK_POD_MEM_GIB)],
                       pool="bulk", job=plan)
        w.nodes = [nodes[k % n_nodes].name]
