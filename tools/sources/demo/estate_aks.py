"""The AKS cluster ``aks-web``: a system pool and an oversized user pool (VMSS, billed per VMSS-hour).

Stories planted here: the ``userpool`` is fixed at 6 nodes with scale-down disabled while its
requests fill under a third of it (overprovisioned_node_pool, missing_autoscaler); three
``preview-pr-*`` namespaces weeks old with no deploy since; ``legacy-reports/report-worker``
replicas that serve nothing; a Released Premium disk with no claim; and the default
StorageClass is Premium_LRS (``managed-premium``) for volumes with no IOPS need.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tools.sources.demo.builder import Builder, container, labels, revision
from tools.sources.demo.model import Cluster, InstanceType, JobPlan, NodePool

D4S = InstanceType("Standard_D4s_v5", 4, 16, 0, 0.23)
D8S = InstanceType("Standard_D8s_v5", 8, 32, 0, 0.46)

CLUSTER = Cluster("aks-web", "azure", "westeurope", "3f2c9a1e-7b4d-4e8a-9c1f-5d6e7f809a1b", "acme-web-prod",
                  "acme-ea-81234567", ["westeurope-1", "westeurope-2", "westeurope-3"],
                  node_resource_group="MC_rg-web-prod_aks-web_westeurope", vmss_suffix="41872305",
                  created=datetime(2025, 1, 20))
PREVIEWS = (("preview-pr-123", datetime(2026, 10, 12, 9)), ("preview-pr-131", datetime(2026, 10, 19, 14)),
            ("preview-pr-140", datetime(2026, 10, 26, 11)))

# Azure managed disks bill by size tier (monthly price of the tier that holds the size).
PREMIUM_TIERS = ((32, 5.28), (64, 10.21), (128, 19.71), (256, 38.01), (512, 73.22), (1024, 135.17))
STANDARD_SSD_TIERS = ((32, 2.40), (64, 4.80), (128, 9.60), (256, 19.20), (512, 38.40), (1024, 76.80))


def tier_price(tiers, size_gib: float) -> tuple[str, float]:
    for i, (cap, monthly) in enumerate(tiers):
        if size_gib <= cap:
            return f"{cap} GiB", monthly
    return f"{tiers[-1][0]} GiB", tiers[-1][1]


def build_aks(b: Builder) -> None:
    c = CLUSTER
    b.world.clusters.append(c)
    spec = b.spec
    agent = {"kubernetes.azure.com/mode": "system"}
    system = NodePool(c.name, "systempool", D4S, labels=agent,
                      taints=[{"key": "CriticalAddonsOnly", "value": "true", "effect": "NoSchedule"}],
                      autoscaling={"enabled": True, "by": "aks", "min": 2, "max": 3})
    user = NodePool(c.name, "userpool", D8S, labels={"kubernetes.azure.com/mode": "user"},
                    annotations={"cluster-autoscaler.kubernetes.io/scale-down-disabled": "true"},
                    autoscaling={"enabled": False, "by": "none", "min": 6, "max": 6})
    b.pool(c, system, 2)
    b.pool(c, user, 6)

    premium = b.storage_class(c, "managed-premium", "disk.csi.azure.com", {"skuName": "Premium_LRS"}, 0.0,
                              default=True)
    retain = b.storage_class(c, "managed-premium-retain", "disk.csi.azure.com", {"skuName": "Premium_LRS"}, 0.0)
    b.storage_class(c, "managed-csi", "disk.csi.azure.com", {"skuName": "StandardSSD_LRS"}, 0.0)

    ks = b.namespace(c, "kube-system", {}, log_gib_per_day=0.8)
    sys_labels = labels("platform-team", "platform", None, "prod", "cc-100")
    mon = b.namespace(c, "monitoring", sys_labels | {"service": "observability"}, log_gib_per_day=0.4)
    ing = b.namespace(c, "ingress-nginx", sys_labels | {"service": "ingress"}, log_gib_per_day=1.5)
    cm = b.namespace(c, "cert-manager", sys_labels | {"service": "certificates"}, log_gib_per_day=0.1)
    tol = [{"operator": "Exists"}]
    for name, image, cpu, mem in (("kube-proxy", "kube-proxy:v1.30.5", 0.1, 0.125),
                                  ("ama-logs", "ciprod:3.1.24", 0.15, 0.5)):
        b.workload(c, ks, "DaemonSet", name, [container(name, image, cpu, mem)], pool=["*"], tolerations=tol)
    b.workload(c, mon, "DaemonSet", "node-exporter", [container("node-exporter", "node-exporter:v1.8.2", 0.1, 0.176)],
               pool=["*"], tolerations=tol)
    crit = {"tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}]}
    b.deployment(c, ks, "coredns", "coredns:v1.11.3-2", 0.1, 0.07, 2, "systempool", **crit)
    b.deployment(c, ks, "coredns-autoscaler", "cluster-proportional-autoscaler:v1.8.11", 0.02, 0.01, 1, "systempool",
                 **crit)
    b.deployment(c, ks, "metrics-server", "metrics-server:v0.7.2", 0.15, 0.2, 2, "systempool", **crit)
    b.deployment(c, ks, "konnectivity-agent", "konnectivity-agent:v0.1.6", 0.02, 0.05, 2, "systempool", **crit)
    b.deployment(c, ks, "ama-logs-rs", "ciprod:3.1.24", 0.15, 0.25, 1, "systempool", **crit)
    prom = b.workload(c, mon, "StatefulSet", "prometheus", [container("prometheus", "prometheus:v2.54.1", 2.0, 8.0)],
                      pool="systempool", volume_claims=["data"], **crit)
    b.volume(c, premium, ("monitoring", "data-prometheus-0"), 100, created=prom.created, used=lambda h: 40 + 0.002 * h)
    b.deployment(c, mon, "kube-state-metrics", "kube-state-metrics:v2.13.0", 0.1, 0.25, 1, "systempool", **crit)
    b.deployment(c, cm, "cert-manager", "jetstack/cert-manager-controller:v1.15.3", 0.1, 0.25, 3, "systempool", **crit)
    b.deployment(c, ing, "ingress-nginx-controller", "ingress-nginx/controller:v1.11.2", 0.75, 0.5, 2, "systempool",
                 **crit)
    b.service(c, "ingress-nginx", "ingress-nginx-controller", {"app.kubernetes.io/name": "ingress-nginx-controller"},
              lb=True)

    web = b.namespace(c, "web", labels("web-team", "web", "frontend", "prod", "cc-210", "service"))
    b.deployment(c, web, "frontend", "acme/frontend:9.3.1", 1.0, 2.0, 3, "userpool")
    b.cronjob(c, web, "sitemap-gen", "acme/sitemap-gen:1.1.0", 0.5, 1.0, "userpool",
              JobPlan("0 */6 * * *", 6, 0, 1, 1500.0))
    ident = b.namespace(c, "identity", labels("identity-team", "identity", "auth", "prod", "cc-250", "service"))
    b.deployment(c, ident, "auth-api", "acme/auth-api:4.0.2", 0.5, 1.0, 2, "userpool")
    b.namespace(c, "legacy-reports", {"team": "bi"})    # owner, env, cost_center missing
    b.deployment(c, "legacy-reports", "report-worker", "acme/report-worker:1.0.9", 0.5, 1.0, 4, "userpool",
                 cpu_use=0.004, story="idle_replicas", net_bytes_per_hour=0.0)
    b.namespace(c, "sandbox", {})
    b.deployment(c, "sandbox", "toolbox", "nicolaka/netshoot:v0.13", 0.25, 0.5, 1, "userpool")
    for name, created in PREVIEWS:
        pr = name.rsplit("-", 1)[1]
        b.namespace(c, name, {"team": "web", "env": "preview", "workload_type": "preview"}, created=created,
                    log_gib_per_day=0.05)
        hour = int((created - spec.start) / timedelta(hours=1)) + 1
        for app, cpu in (("web", 0.5), ("api", 0.5)):
            w = b.deployment(c, name, app, f"acme/{app}", cpu, 1.0, 1, "userpool", cpu_use=0.7,
                             story="stale_preview_env", created=spec.at(hour), net_bytes_per_hour=5 * 1024**2)
            w.revisions = [revision(spec, hour, 1, f"pr-{pr}")]
        pg = b.workload(c, name, "StatefulSet", "postgres", [container("postgres", "postgres:16.4", 0.25, 1.0)],
                        pool="userpool", volume_claims=["data"], created=spec.at(hour), story="stale_preview_env")
        b.volume(c, premium, (name, "data-postgres-0"), 20, created=pg.created, used=lambda h: 1.2)
    orphan = b.volume(c, retain, None, 512, created=datetime(2026, 6, 3, 8), phase="Released", reclaim="Retain",
                      used=None, story="orphaned_volume")
    orphan.former_claim = ("legacy-reports", "archive-data")
