"""Compute the ground truth from the world definition and the generator's own ledger.

Pricing follows DESIGN.md's allocation rules with the default settings, so the numbers are
what a correct allocation of the written bill gives:

* a node-hour costs its EffectiveCost (the ``general`` EKS pool has a 28% Savings Plan; Azure
  VMSS rows split evenly over the instances of the hour);
* a pod pays ``node_cost * (9*cpu + mem_gib) / (9*cpu_alloc + mem_alloc_gib)`` per hour for
  its requests (usage never exceeds requests outside the planted stories), i.e. CPU:memory
  weights 9:1 per vCPU-hour and GiB-hour over the node's allocatable;
* monthly = cost over the 14-day window * 730 / window hours, unless the formula says otherwise.
"""

from __future__ import annotations

import math

from tools.settings import AllocationSettings
from tools.sources.demo import estate_aks, estate_eks, estate_gke
from tools.sources.demo.billing import LOG_PRICE_PER_GIB, Ledger, disk_hourly_price
from tools.sources.demo.model import GIB, MIB, World
from tools.sources.demo.explain_truth import explain_truth
from tools.sources.demo.network_share import workload_network_cost
from tools.sources.demo.pods import iter_pods
from tools.sources.demo.truth_model import (
    ClusterFigures, GroundTruth, HealthyControl, ObjectRef, PoolTruth, Story,
)
from tools.sources.demo.usage import cpu_cores, log_bytes, memory_bytes

MONTH = 730.0
WEIGHTS = AllocationSettings()
HEADROOM, CPU_FLOOR, MEM_FLOOR = 1.15, 0.010, 100 * MIB
PROFILE_TARGET = 0.65          # 'prod', the default node-pool profile
SPOT_SAVINGS_SHARE = 0.6       # GPU spot saving when no cheaper GPU pool exists to price from
CRON_MAX_RUNS_PER_DAY = 96     # every 15 minutes


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, DuckDB's quantile_cont)."""
    s = sorted(values)
    pos = (len(s) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


class Pricer:
    def __init__(self, world: World):
        self.world = world

    def node_hour(self, cluster: str, pool: str) -> float:
        p = self.world.pool(cluster, pool)
        return p.hourly_price * p.effective_rate

    def unit_prices(self, cluster: str, pool: str) -> tuple[float, float]:
        """($ per core-hour, $ per GiB-hour) of a node of `pool`."""
        it = self.world.pool(cluster, pool).instance
        denom = WEIGHTS.cpu_weight * it.cpu_allocatable + WEIGHTS.memory_weight * it.memory_allocatable / GIB
        cost = self.node_hour(cluster, pool)
        return cost * WEIGHTS.cpu_weight / denom, cost * WEIGHTS.memory_weight / denom

    def pod_hour(self, cluster: str, pool: str, cpu: float, mem_bytes: float) -> float:
        cpu_price, mem_price = self.unit_prices(cluster, pool)
        return cpu * cpu_price + mem_bytes / GIB * mem_price


def _ref(cluster, namespace, kind, name) -> ObjectRef:
    return ObjectRef(cluster=cluster, namespace=namespace, kind=kind, name=name)


def _wl(world: World, cluster: str, namespace: str, name: str):
    return next(w for w in world.workloads if (w.cluster, w.namespace, w.name) == (cluster, namespace, name))


def _requests(w) -> tuple[float, float]:
    return sum(c.cpu_request for c in w.containers), sum(c.memory_request for c in w.containers)


def build_ground_truth(world: World, ledger: Ledger) -> GroundTruth:
    spec = world.spec
    hours = spec.hours
    clusters = []
    for c in world.clusters:
        pods = pod_hours = 0
        for w in world.of(world.workloads, c.name):
            for p in iter_pods(world, w, hours):
                pods += 1
                pod_hours += min(p.end_h, hours) - max(p.start_h, 0)
        weeks = [ledger.total(c.name, days=range(d, d + 7)) for d in range(0, spec.days - spec.days % 7, 7)]
        clusters.append(ClusterFigures(
            cluster=c.name, provider=c.provider, nodes_at_end=sum(1 for n in world.of(world.nodes, c.name)
                                                                   if n.end_h >= hours),
            pods=pods, pod_hours=pod_hours, billed_total=ledger.total(c.name),
            effective_total=ledger.total(c.name, basis="effective"), billed_by_week=weeks))
    stories = _stories(world, ledger) if spec.stories else []
    return GroundTruth(
        world=spec.name, seed=spec.seed, start=spec.start, end=spec.end, hours=hours, clusters=clusters,
        external_billed_total=ledger.total(""), billed_total=ledger.total(),
        effective_total=ledger.total(basis="effective"), stories=stories,
        healthy_controls=_controls() if spec.stories else [],
        explain=explain_truth(world, ledger) if spec.stories and spec.days >= 14 else None,
        node_pools=_pools(world),
        notes=["Savings use EffectiveCost (the default cost basis) and 730 hours a month.",
               "Pod prices: node cost split 9:1 per vCPU-hour : GiB-hour over allocatable (DESIGN.md rule 3).",
               "Over-request recommendations: CPU p95 of hourly averages x 1.15, memory max x 1.15, floors "
               "10m / 100Mi; replicas of a workload are pooled."])


def _stories(world: World, ledger: Ledger) -> list[Story]:
    spec, hours, price = world.spec, world.spec.hours, Pricer(world)
    out: list[Story] = []

    def monthly_pod(cluster, pool, cpu, mem):
        return price.pod_hour(cluster, pool, cpu, mem) * MONTH

    def monthly_network(w) -> float:
        """The workload's share of cluster-level network cost, per month."""
        return workload_network_cost(world, w) * MONTH / hours

    # over_requested: search-api (and report-worker, which is also idle)
    for cluster, ns, name, sid in (("eks-prod", "catalog", "search-api", "search_api_8x"),
                                   ("aks-web", "legacy-reports", "report-worker", "report_worker_over_request")):
        w = _wl(world, cluster, ns, name)
        c = w.containers[0]
        cpu, mem = [], []
        for p in iter_pods(world, w, hours):
            first, last = max(p.start_h, 0), min(p.end_h, hours)
            cpu += list(cpu_cores(spec.seed, p.key, c, first, last))
            mem += list(memory_bytes(spec.seed, p.key, c, first, last))
        rec_cpu = max(quantile(cpu, 0.95) * HEADROOM, CPU_FLOOR)
        rec_mem = max(max(mem) * HEADROOM, MEM_FLOOR)
        cpu_price, mem_price = price.unit_prices(cluster, w.pool)
        saving = w.replicas * MONTH * (cpu_price * (c.cpu_request - rec_cpu)
                                       + mem_price * (c.memory_request - rec_mem) / GIB)
        out.append(Story(
            id=sid, title=f"{ns}/{name} requests {c.cpu_request / (sum(cpu) / len(cpu)):.0f}x the CPU it uses",
            detector="over_requested", object=_ref(cluster, ns, "Deployment", name),
            expected_monthly_savings=round(saving, 2),
            savings_formula="replicas * 730 * (cpu_price*(cpu_request - max(p95_cpu*1.15, 0.01)) + "
                            "mem_price*(mem_request_gib - max(max_mem*1.15, 100Mi)/GiB)); prices from the pool's "
                            "effective node price split 9:1",
            figures={"replicas": w.replicas, "cpu_request": c.cpu_request, "cpu_p95": round(quantile(cpu, 0.95), 6),
                     "cpu_mean": round(sum(cpu) / len(cpu), 6), "memory_request_bytes": c.memory_request,
                     "memory_max_bytes": max(mem), "recommended_cpu": round(rec_cpu, 6),
                     "recommended_memory_bytes": round(rec_mem), "cpu_price_per_core_hour": round(cpu_price, 8),
                     "memory_price_per_gib_hour": round(mem_price, 8), "samples": len(cpu)}))

    # idle_replicas
    w = _wl(world, "aks-web", "legacy-reports", "report-worker")
    cpu_r, mem_r = _requests(w)
    out.append(Story(
        id="report_worker_idle", title="legacy-reports/report-worker: 4 replicas, ~2m CPU, no traffic",
        detector="idle_replicas", object=_ref("aks-web", "legacy-reports", "Deployment", "report-worker"),
        expected_monthly_savings=round(w.replicas * monthly_pod("aks-web", w.pool, cpu_r, mem_r), 2),
        savings_formula="replicas * 730 * pod_hour_cost(requests): scale to zero, every replica serves nothing",
        figures={"replicas": w.replicas, "network_bytes_per_hour": 0, "cpu_mean_cores": 0.002}))

    # cronjob_too_frequent
    w = _wl(world, "eks-prod", "payments", "cache-warmer")
    cpu_r, mem_r = _requests(w)
    network = monthly_network(w)
    monthly = monthly_pod("eks-prod", w.pool, cpu_r, mem_r) + network
    out.append(Story(
        id="cache_warmer_every_minute", title="payments/cache-warmer runs every minute for 40 s of work",
        detector="cronjob_too_frequent", object=_ref("eks-prod", "payments", "CronJob", "cache-warmer"),
        expected_monthly_savings=round(monthly * (1 - CRON_MAX_RUNS_PER_DAY / 1440), 2),
        savings_formula="monthly_cost * (1 - 96/1440): run every 15 minutes instead of every minute; "
                        "monthly_cost = 730 * pod_hour_cost(requests) (one run pod is always up) + its NAT "
                        "share by bytes sent",
        figures={"schedule": "* * * * *", "runs_per_day": 1440, "run_seconds": 40, "monthly_cost": round(monthly, 2),
                 "monthly_network": round(network, 2)}))

    # job_retry_loop
    w = _wl(world, "eks-prod", "data-platform", "backfill-orders")
    cpu_r, mem_r = _requests(w)
    out.append(Story(
        id="backfill_retry_loop", title="data-platform/backfill-orders has failed every attempt for 19 days",
        detector="job_retry_loop", object=_ref("eks-prod", "data-platform", "Job", "backfill-orders"),
        expected_monthly_savings=round(monthly_pod("eks-prod", w.pool, cpu_r, mem_r) + monthly_network(w), 2),
        savings_formula="730 * pod_hour_cost(requests) + its NAT share by bytes sent: one failing attempt pod "
                        "runs every hour",
        figures={"backoff_limit": w.job.backoff_limit, "failed_at_end": -w.start_h + hours,
                 "pods_created_in_window": hours, "succeeded": 0}))

    # stale_preview_env
    for ns, created in estate_aks.PREVIEWS:
        total = network = 0.0
        for w in world.workloads:
            if (w.cluster, w.namespace) == ("aks-web", ns):
                cpu_r, mem_r = _requests(w)
                total += w.replicas * monthly_pod("aks-web", w.pool, cpu_r, mem_r)
                network += monthly_network(w)
        space = next(n for n in world.namespaces if (n.cluster, n.name) == ("aks-web", ns))
        logs = sum(log_bytes(spec.seed, space, h) for h in range(hours)) / GIB * LOG_PRICE_PER_GIB["azure"] \
            * MONTH / hours
        disks = sum(disk_hourly_price("azure", _sc(world, v), v.size_at(hours - 1))[0] * MONTH
                    for v in world.volumes if v.claim and (v.cluster, v.claim[0]) == ("aks-web", ns))
        out.append(Story(
            id=f"stale_{ns.replace('-', '_')}", title=f"{ns} created {created:%Y-%m-%d}, no deploy since",
            detector="stale_preview_env", object=_ref("aks-web", ns, "Namespace", ns),
            expected_monthly_savings=round(total + disks + logs + network, 2),
            savings_formula="the namespace's whole monthly cost: 730 * sum(pod_hour_cost(requests)) of its pods + "
                            "its disks' monthly tier price + its Log Analytics share (its log bytes) + its share "
                            "of the cluster load balancer (bytes sent)",
            figures={"created": created.isoformat(), "age_days_at_end": (spec.end - created).days,
                     "pods_monthly": round(total, 2), "disks_monthly": round(disks, 2),
                     "logs_monthly": round(logs, 2), "network_monthly": round(network, 2)}))

    # orphaned_volume
    v = next(v for v in world.volumes if v.story == "orphaned_volume")
    monthly = disk_hourly_price("azure", _sc(world, v), v.size_at(0))[0] * MONTH
    out.append(Story(
        id="released_premium_disk", title="A Released 512 GiB Premium disk with no claim is still billed",
        detector="orphaned_volume", object=_ref("aks-web", "", "PersistentVolume", v.pv),
        expected_monthly_savings=round(monthly, 2), savings_formula="the disk's monthly tier price (P20)",
        figures={"phase": v.phase, "size_gib": 512, "former_claim": "/".join(v.former_claim),
                 "volume_id": v.volume_id}))

    # expensive_default_storage_class
    premium, standard = 0.0, 0.0
    for v in world.volumes:
        if v.cluster == "aks-web" and v.storage_class == "managed-premium" and v.phase == "Bound":
            size = v.size_at(hours - 1)
            premium += estate_aks.tier_price(estate_aks.PREMIUM_TIERS, size)[1]
            standard += estate_aks.tier_price(estate_aks.STANDARD_SSD_TIERS, size)[1]
    out.append(Story(
        id="premium_default_class", title="aks-web's default StorageClass is Premium_LRS for low-IOPS volumes",
        detector="expensive_default_storage_class", object=_ref("aks-web", "", "StorageClass", "managed-premium"),
        expected_monthly_savings=round(premium - standard, 2),
        savings_formula="sum over Bound volumes of the class: Premium tier monthly - StandardSSD tier monthly",
        figures={"premium_monthly": round(premium, 2), "standard_ssd_monthly": round(standard, 2),
                 "share_based_estimate_0_5": round(premium * 0.5, 2)}))

    out += _pool_stories(world, price)
    out += _growth_stories(world, ledger)
    return out


def _sc(world: World, v):
    return next(s for s in world.storage_classes if (s.cluster, s.name) == (v.cluster, v.storage_class))


def _pool_stories(world: World, price: Pricer) -> list[Story]:
    spec, hours = world.spec, world.spec.hours
    out = []
    pool = world.pool("aks-web", "userpool")
    util, cpu_req, mem_req = _pool_utilization(world, "aks-web", "userpool")
    it = pool.instance
    nodes = sum(1 for n in world.nodes if (n.cluster, n.pool) == ("aks-web", "userpool"))
    need = max(cpu_req / it.cpu_allocatable, mem_req / it.memory_allocatable)
    rec = max(1, math.ceil(need / PROFILE_TARGET - 1e-9))
    node_month = price.node_hour("aks-web", "userpool") * MONTH
    ref = _ref("aks-web", "", "NodePool", "userpool")
    out.append(Story(
        id="userpool_overprovisioned", title=f"aks-web/userpool: {nodes} nodes, requests fill {util:.0%}",
        detector="overprovisioned_node_pool", object=ref, expected_monthly_savings=round((nodes - rec) * node_month, 2),
        savings_formula="(nodes - recommended) * node_price * 730; recommended = max(1, ceil(max(cpu_req/cpu_alloc, "
                        "mem_req/mem_alloc) / 0.65)) with requests at the hourly p95 (prod profile)",
        figures={"nodes": nodes, "recommended_nodes": rec, "requests_utilization": round(util, 4),
                 "cpu_requests_p95": round(cpu_req, 3), "memory_requests_p95_bytes": round(mem_req)}))
    out.append(Story(
        id="userpool_no_autoscaler", title="aks-web/userpool is fixed at 6 nodes with scale-down disabled",
        detector="missing_autoscaler", object=ref, expected_monthly_savings=None,
        savings_formula="none of its own: the dollars are userpool_overprovisioned's",
        figures={"annotation": "cluster-autoscaler.kubernetes.io/scale-down-disabled=true", "min": 6, "max": 6}))
    # gpu_warm_idle
    gpu_nodes = [n for n in world.nodes if (n.cluster, n.pool) == ("eks-prod", "gpu-inference")]
    node_hours = sum(min(n.end_h, hours) - max(n.start_h, 0) for n in gpu_nodes)
    busy = sum(1 for n in gpu_nodes for h in range(max(n.start_h, 0), min(n.end_h, hours))
               if n.gpu_activity(h) > 0.05)
    window_cost = node_hours * price.node_hour("eks-prod", "gpu-inference")
    out.append(Story(
        id="gpu_inference_warm", title="eks-prod/gpu-inference GPUs are busy 2 hours a day",
        detector="gpu_warm_idle", object=_ref("eks-prod", "", "NodePool", "gpu-inference"),
        expected_monthly_savings=round(window_cost * (1 - busy / node_hours) * MONTH / hours, 2),
        savings_formula="pool cost over the window * (1 - busy GPU-hours / GPU node-hours) * 730 / window hours",
        figures={"gpu_node_hours": node_hours, "busy_gpu_hours": busy, "busy_share": round(busy / node_hours, 4),
                 "busy_hours_utc": "14:00-16:00", "window_cost": round(window_cost, 2),
                 "workload": "ml-inference/ranker-gpu"}))
    # eval_jobs_on_prod_gpu
    gpu_nodes = [n for n in world.nodes if (n.cluster, n.pool) == ("gke-ml", "gpu-l4")]
    node_hours = sum(min(n.end_h, hours) - max(n.start_h, 0) for n in gpu_nodes)
    gpu_pool = world.pool("gke-ml", "gpu-l4")
    window_cost = node_hours * gpu_pool.instance.gpu_price * gpu_pool.effective_rate
    out.append(Story(
        id="ai_evals_on_demand_gpu", title="ai-evals eval-harness runs on the on-demand L4 pool of a prod cluster",
        detector="eval_jobs_on_prod_gpu", object=_ref("gke-ml", "ai-evals", "Job", "eval-harness"),
        expected_monthly_savings=round(window_cost * MONTH / hours * SPOT_SAVINGS_SHARE, 2),
        savings_formula="ai-evals GPU cost over the window (the bill's L4 GPU rows of its nodes) * 730 / window "
                        "hours * 0.6 (spot saving share; the cluster has no spot GPU pool to price from)",
        figures={"gpu_node_hours": node_hours, "gpu_window_cost": round(window_cost, 2), "pool": "gpu-l4",
                 "node_window_cost": round(node_hours * price.node_hour("gke-ml", "gpu-l4"), 2),
                 "workload_type": "eval", "parallelism": "2 -> 6"}))
    return out


def _growth_stories(world: World, ledger: Ledger) -> list[Story]:
    spec, hours = world.spec, world.spec.hours
    out = []
    ns = next(n for n in world.namespaces if (n.cluster, n.name) == ("eks-prod", "checkout"))
    price = LOG_PRICE_PER_GIB["aws"]
    weeks = [sum(log_bytes(spec.seed, ns, h) for h in range(hours - 336 + 168 * k, hours - 168 + 168 * k)) / GIB
             for k in range(2)]
    out.append(Story(
        id="checkout_log_jump", title="checkout ships 6x the log bytes since 2026-11-18",
        detector="log_volume_growth", object=_ref("eks-prod", "checkout", "Namespace", "checkout"),
        expected_monthly_savings=round((weeks[1] - weeks[0]) * price * MONTH / 168, 2),
        savings_formula="(this week's log GiB - previous week's) * $0.50/GiB * 730 / 168: the monthly cost of "
                        "the increase (CloudWatch Logs ingestion)",
        figures={"previous_week_gib": round(weeks[0], 3), "this_week_gib": round(weeks[1], 3),
                 "growth_pct": round(100 * (weeks[1] / weeks[0] - 1), 1),
                 "previous_week_cost": round(weeks[0] * price, 2), "this_week_cost": round(weeks[1] * price, 2),
                 "jump_at": spec.at(spec.story_hour(estate_eks.LOG_JUMP_HOUR)).isoformat()}))
    v = next(v for v in world.volumes if v.story == "embedding_growth")
    sc = _sc(world, v)
    cost = [sum(disk_hourly_price("gcp", sc, v.size_at(h))[0] for h in range(168 * k, 168 * (k + 1)))
            for k in range(2)]
    out.append(Story(
        id="vector_index_growth", title="embeddings/vector-index grows 15 GiB a day; its disk was resized twice",
        detector="embedding_growth", object=_ref("gke-ml", "embeddings", "Namespace", "embeddings"),
        expected_monthly_savings=round(estate_gke.EMBED_GROWTH_GIB_PER_DAY * MONTH / 24 * sc.price_gib_month, 2),
        savings_formula="used-bytes growth (GiB/day) * 730/24 * $/GiB-month of the class: the monthly cost one "
                        "more month of growth adds",
        figures={"pvc": "data-vector-index-0", "workload": "StatefulSet/vector-index",
                 "growth_gib_per_day": estate_gke.EMBED_GROWTH_GIB_PER_DAY,
                 "growth_gib_per_week": estate_gke.EMBED_GROWTH_GIB_PER_DAY * 7,
                 "size_gib": "400 -> 600 -> 800", "price_gib_month": sc.price_gib_month,
                 "previous_week_disk_cost": round(cost[0], 4), "this_week_disk_cost": round(cost[1], 4)}))
    return out


def _pool_utilization(world: World, cluster: str, pool: str) -> tuple[float, float, float]:
    """p95 over hours of max(cpu, memory) requests / allocatable, with the requests at that hour."""
    hours = world.spec.hours
    cpu = [0.0] * hours
    mem = [0.0] * hours
    names = {n.name for n in world.nodes if (n.cluster, n.pool) == (cluster, pool)}
    alloc_cpu = [0.0] * hours
    alloc_mem = [0.0] * hours
    it = world.pool(cluster, pool).instance
    for n in world.nodes:
        if n.name in names:
            for h in range(max(n.start_h, 0), min(n.end_h, hours)):
                alloc_cpu[h] += it.cpu_allocatable
                alloc_mem[h] += it.memory_allocatable
    for w in world.of(world.workloads, cluster):
        pools = w.pool if isinstance(w.pool, list) else [w.pool]
        if pool not in pools and "*" not in pools:
            continue
        cpu_r, mem_r = _requests(w)
        for p in iter_pods(world, w, hours):
            if p.node in names:
                for h in range(max(p.start_h, 0), min(p.end_h, hours)):
                    cpu[h] += cpu_r
                    mem[h] += mem_r
    ratios = [max(cpu[h] / alloc_cpu[h], mem[h] / alloc_mem[h]) for h in range(hours) if alloc_cpu[h]]
    p95 = quantile(ratios, 0.95)
    at = min(range(len(ratios)), key=lambda i: abs(ratios[i] - p95))
    return p95, cpu[at], mem[at]


def _pools(world: World) -> list[PoolTruth]:
    out = []
    for p in world.pools:
        if p.name == "bulk":
            util = 0.0
        else:
            util = _pool_utilization(world, p.cluster, p.name)[0]
        out.append(PoolTruth(cluster=p.cluster, pool=p.name, instance_type=p.instance.name,
                             capacity_type=p.capacity_type,
                             nodes_at_end=sum(1 for n in world.nodes if (n.cluster, n.pool) == (p.cluster, p.name)
                                              and n.end_h >= world.spec.hours),
                             hourly_price=p.hourly_price, effective_hourly_price=round(p.hourly_price * p.effective_rate, 6),
                             requests_utilization=round(util, 4), autoscaling=p.autoscaling))
    return out


def _controls() -> list[HealthyControl]:
    return [
        HealthyControl(object=_ref("eks-prod", "orders", "Deployment", "orders-api"),
                       why="right-sized: uses ~80% of its requests"),
        HealthyControl(object=_ref("eks-prod", "orders", "StatefulSet", "postgres"),
                       why="right-sized, owns data-postgres-0 (gp3, mounted, ~58% full, flat)"),
        HealthyControl(object=_ref("eks-prod", "orders", "CronJob", "nightly-report"),
                       why="daily at 02:00, 40 minutes of work per run, always succeeds"),
        HealthyControl(object=_ref("gke-ml", "training-data", "CronJob", "build-dataset"),
                       why="daily at 03:00, 90 minutes of work per run"),
        HealthyControl(object=_ref("eks-prod", "storefront", "Deployment", "web"),
                       why="uses ~30% of its CPU request but an HPA scales it on cpu (min 3, max 10): "
                           "over_requested must skip it and name the HPA"),
    ]


__all__ = ["build_ground_truth", "Pricer", "quantile"]
