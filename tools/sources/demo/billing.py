"""Write one FOCUS CSV per cluster account, hour by hour, and keep the generator's own ledger.

What each provider's file holds (hourly charge periods):

* AWS (FOCUS 1.2): one EC2 row per instance-hour (``ResourceId`` = instance id; the
  ``general`` pool's rows carry a Savings Plan, EffectiveCost = 72% of BilledCost), one EBS
  row per volume-hour (``vol-...``), the NLB, NAT Gateway hours and bytes, CloudWatch Logs
  ingestion, the EKS control plane; outside Kubernetes: S3, RDS and one negative credit row.
* GCP (FOCUS 1.2): a core/RAM row per instance-hour and a separate GPU row for GPU nodes
  (``ResourceId`` ends with ``/instances/<node name>``), persistent disks, the forwarding rule,
  Cloud Logging, the Kubernetes Engine cluster management fee; outside: Cloud Storage, BigQuery.
* Azure (FOCUS 1.3): one row per VMSS and hour with quantity = instances, managed disks priced
  by size tier, the ``kubernetes`` load balancer, Log Analytics, the AKS Standard tier fee;
  outside: SQL Database, Storage.

Cluster-level rows carry the cluster tags of the contracts (``aws:eks:cluster-name``,
``eks:cluster-name``, ``goog-k8s-cluster-name``, ``aks-managed-cluster-name``).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from tools.sources.demo.estate_aks import PREMIUM_TIERS, STANDARD_SSD_TIERS, tier_price
from tools.sources.demo.focus_rows import (
    FOCUS_12, FOCUS_13, PROVIDER_DEFAULTS, VERSION, money, month_bounds, qty, tags, ts,
)
from tools.sources.demo.model import GIB, Cluster, World
from tools.sources.demo.usage import log_bytes, weekly_unit

HOURS_PER_MONTH = 730.0
LOG_PRICE_PER_GIB = {"aws": 0.50, "gcp": 0.50, "azure": 2.99}
CONTROL_PLANE_PER_HOUR = 0.10
LB_PER_HOUR = {"aws": 0.0225, "gcp": 0.025, "azure": 0.025}
NAT_PER_HOUR, NAT_PER_GB = 0.045, 0.045
CREDIT = -75.0


class Ledger:
    """Billed and effective totals per (cluster, kind, day); cluster '' = outside Kubernetes."""

    def __init__(self) -> None:
        self.sums: dict[tuple[str, str, int], list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.rows = 0

    def add(self, cluster: str, kind: str, day: int, billed: str, effective: str) -> None:
        cell = self.sums[(cluster, kind, day)]
        cell[0] += float(billed)
        cell[1] += float(effective)
        self.rows += 1

    def total(self, cluster: str | None = None, kind: str | None = None, days: range | None = None,
              basis: str = "billed") -> float:
        i = 0 if basis == "billed" else 1
        return round(sum(v[i] for (c, k, d), v in self.sums.items()
                         if (cluster is None or c == cluster) and (kind is None or k == kind)
                         and (days is None or d in days)), 6)


class _File:
    def __init__(self, path: Path, provider: str, cluster: Cluster, ledger: Ledger):
        self.columns = FOCUS_13 if VERSION[provider] == "1.3" else FOCUS_12
        self.handle = path.open("w", newline="")
        self.out = csv.writer(self.handle, lineterminator="\n")
        self.out.writerow(self.columns)
        self.base = dict(PROVIDER_DEFAULTS[provider])
        self.base.update({"BillingAccountId": cluster.billing_account_id, "SubAccountId": cluster.account_id,
                          "SubAccountName": cluster.account_name, "RegionId": cluster.region,
                          "BillingCurrency": "USD", "PricingCurrency": "USD", "ChargeCategory": "Usage",
                          "ChargeFrequency": "Usage-Based", "PricingCategory": "Standard"})
        self.ledger = ledger
        self.cluster = cluster
        self.credit_hour = -1      # the hour a one-day credit row starts (AWS only)

    def row(self, start, hours: float, day: int, cluster: str, kind: str, billed: float, *, effective: float | None = None,
            list_cost: float | None = None, quantity: float = 1.0, unit: str = "Hours", **fields: str) -> None:
        end = start + timedelta(hours=hours)
        period_start, period_end = month_bounds(start)
        b = money(round(billed, 10))
        e = money(round(billed if effective is None else effective, 10))
        lc = money(round(billed if list_cost is None else list_cost, 10))
        values = dict(self.base)
        values.update({"ChargePeriodStart": ts(start), "ChargePeriodEnd": ts(end),
                       "BillingPeriodStart": ts(period_start), "BillingPeriodEnd": ts(period_end),
                       "InvoiceId": f"INV-{self.cluster.provider.upper()}-{period_start:%Y%m}",
                       "BilledCost": b, "EffectiveCost": e, "ListCost": lc, "ContractedCost": b,
                       "ConsumedQuantity": qty(quantity), "ConsumedUnit": unit, "PricingQuantity": qty(quantity),
                       "PricingUnit": unit,
                       "ListUnitPrice": money(float(lc) / quantity) if quantity else "",
                       "ContractedUnitPrice": money(float(b) / quantity) if quantity else "",
                       "PricingCurrencyListUnitPrice": money(float(lc) / quantity) if quantity else "",
                       "PricingCurrencyContractedUnitPrice": money(float(b) / quantity) if quantity else "",
                       "PricingCurrencyEffectiveCost": e})
        values.update(fields)
        self.out.writerow([values.get(c, "") for c in self.columns])
        self.ledger.add(cluster, kind, day, b, e)

    def close(self) -> None:
        self.handle.close()


def write_billing(world: World, out_dir: Path) -> tuple[list[Path], Ledger]:
    """Write ``billing/focus-<provider>-<account>.csv`` for every cluster; return files and ledger."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ledger = Ledger()
    paths = []
    for cluster in world.clusters:
        path = out_dir / f"focus-{cluster.provider}-{cluster.account_id[:12]}.csv"
        f = _File(path, cluster.provider, cluster, ledger)
        f.credit_hour = world.spec.hours - 72
        try:
            _write_cluster(world, cluster, f)
        finally:
            f.close()
        paths.append(path)
    return paths, ledger


def _write_cluster(world: World, c: Cluster, f: _File) -> None:
    spec = world.spec
    nodes = world.of(world.nodes, c.name)
    pools = {p.name: p for p in world.of(world.pools, c.name)}
    volumes = world.of(world.volumes, c.name)
    classes = {s.name: s for s in world.of(world.storage_classes, c.name)}
    lbs = [s for s in world.of(world.services, c.name) if s.type == "LoadBalancer"]
    namespaces = world.of(world.namespaces, c.name)
    cluster_tag = _cluster_tags(c)
    for h in range(spec.hours):
        at, day = spec.at(h), h // 24
        alive = [n for n in nodes if n.start_h <= h < n.end_h]
        if c.provider == "azure":
            _vmss_rows(f, c, pools, alive, at, day)
        else:
            for n in alive:
                _instance_rows(f, c, pools[n.pool], n, at, day)
        for v in volumes:
            _disk_row(f, c, v, classes[v.storage_class], h, at, day)
        for s in lbs:
            f.row(at, 1, day, c.name, "load_balancer", LB_PER_HOUR[c.provider], ServiceName=_LB_SERVICE[c.provider],
                  ServiceCategory="Networking", ServiceSubcategory="Load Balancing", ResourceId=s.lb_resource_id,
                  ResourceName=s.lb_resource_name, ResourceType="Load Balancer", SkuId=f"{c.provider}-lb-hour",
                  ChargeDescription="Load balancer hour", Tags=tags(cluster_tag | _lb_tags(c, s)))
        gib = sum(log_bytes(spec.seed, ns, h) for ns in namespaces) / GIB
        price = LOG_PRICE_PER_GIB[c.provider]
        f.row(at, 1, day, c.name, "observability", gib * price, quantity=gib, unit="GB",
              ServiceName=_LOG_SERVICE[c.provider], ServiceCategory="Management and Governance",
              ServiceSubcategory="Observability", ResourceId=_log_resource(c), ResourceName=f"{c.name}-logs",
              SkuId=f"{c.provider}-log-ingest", ChargeDescription=f"${price} per GB of log data ingested",
              Tags=tags(cluster_tag))
        f.row(at, 1, day, c.name, "control_plane", CONTROL_PLANE_PER_HOUR, ServiceName=_K8S_SERVICE[c.provider],
              ServiceCategory="Compute", ServiceSubcategory="Containers", ResourceId=_cluster_resource(c),
              ResourceName=c.name, ResourceType="Cluster", SkuId=f"{c.provider}-k8s-cluster-hour",
              ChargeDescription="Kubernetes cluster management fee per hour", Tags=tags(cluster_tag))
        if c.provider == "aws":
            gb = round(15 * (0.8 + 0.4 * weekly_unit(spec.seed, "nat", c.name, h % 168)), 6)
            nat = dict(ServiceName="Amazon Virtual Private Cloud", ServiceCategory="Networking",
                       ServiceSubcategory="Network Infrastructure",
                       ResourceId=f"arn:aws:ec2:{c.region}:{c.account_id}:natgateway/nat-0a1b2c3d4e5f60718",
                       ResourceName="nat-0a1b2c3d4e5f60718", ResourceType="NAT Gateway", Tags=tags(cluster_tag))
            f.row(at, 1, day, c.name, "network", NAT_PER_HOUR, SkuId="NatGateway-Hours",
                  ChargeDescription="$0.045 per NAT Gateway Hour", **nat)
            f.row(at, 1, day, c.name, "network", gb * NAT_PER_GB, quantity=gb, unit="GB", SkuId="NatGateway-Bytes",
                  ChargeDescription="$0.045 per GB Data Processed by NAT Gateways", **nat)
        _external_rows(f, c, h, at, day)


_LB_SERVICE = {"aws": "Elastic Load Balancing", "gcp": "Cloud Load Balancing", "azure": "Load Balancer"}
_LOG_SERVICE = {"aws": "Amazon CloudWatch", "gcp": "Cloud Logging", "azure": "Log Analytics"}
_K8S_SERVICE = {"aws": "Amazon Elastic Kubernetes Service", "gcp": "Kubernetes Engine",
                "azure": "Azure Kubernetes Service"}


def _cluster_tags(c: Cluster) -> dict[str, str]:
    if c.provider == "aws":
        return {"aws:eks:cluster-name": c.name, "eks:cluster-name": c.name}
    if c.provider == "gcp":
        return {"goog-k8s-cluster-name": c.name, "goog-k8s-cluster-location": c.region}
    return {"aks-managed-cluster-name": c.name, "aks-managed-cluster-rg": "rg-web-prod"}


def _lb_tags(c: Cluster, s) -> dict[str, str]:
    return {"kubernetes.io/service-name": f"{s.namespace}/{s.name}"} if c.provider == "aws" else {}


def _cluster_resource(c: Cluster) -> str:
    if c.provider == "aws":
        return f"arn:aws:eks:{c.region}:{c.account_id}:cluster/{c.name}"
    if c.provider == "gcp":
        return f"//container.googleapis.com/projects/{c.account_id}/locations/{c.region}/clusters/{c.name}"
    return (f"/subscriptions/{c.account_id}/resourceGroups/rg-web-prod/providers/"
            f"Microsoft.ContainerService/managedClusters/{c.name}")


def _log_resource(c: Cluster) -> str:
    if c.provider == "aws":
        return f"arn:aws:logs:{c.region}:{c.account_id}:log-group:/aws/containerinsights/{c.name}/application"
    if c.provider == "gcp":
        return f"//logging.googleapis.com/projects/{c.account_id}"
    return (f"/subscriptions/{c.account_id}/resourceGroups/rg-web-prod/providers/"
            f"Microsoft.OperationalInsights/workspaces/law-{c.name}")


def _instance_rows(f: _File, c: Cluster, pool, n, at, day: int) -> None:
    it = pool.instance
    billed = pool.hourly_price
    if c.provider == "aws":
        committed = pool.commitment == "Savings Plan"
        extra = {}
        if committed:
            extra = {"CommitmentDiscountId": f"arn:aws:savingsplans::{c.account_id}:savingsplan/5f1e2d3c-sp-2026",
                     "CommitmentDiscountName": "compute-sp-2026", "CommitmentDiscountType": "Savings Plan",
                     "CommitmentDiscountCategory": "Spend", "CommitmentDiscountStatus": "Used",
                     "PricingCategory": "Committed"}
        elif pool.capacity_type == "spot":
            extra = {"PricingCategory": "Dynamic"}
        kind = "Spot" if pool.capacity_type == "spot" else "On Demand"
        f.row(at, 1, day, c.name, "node", billed, effective=billed * pool.effective_rate, list_cost=it.price,
              ServiceName="Amazon Elastic Compute Cloud", ServiceCategory="Compute",
              ServiceSubcategory="Virtual Machines", ResourceId=n.instance_id, ResourceName=n.instance_id,
              ResourceType="Instance", AvailabilityZone=n.zone, SkuId=f"BoxUsage:{it.name}",
              SkuPriceId=f"{it.name}.{kind.replace(' ', '')}", SkuMeter=it.name,
              ChargeDescription=f"${billed} per {kind} Linux {it.name} Instance Hour",
              Tags=tags({"eks:cluster-name": c.name, "karpenter.sh/nodepool": pool.name,
                         f"kubernetes.io/cluster/{c.name}": "owned"}), **extra)
        return
    rid = f"//compute.googleapis.com/projects/{c.account_id}/zones/{n.zone}/instances/{n.name}"
    common = dict(ServiceName="Compute Engine", ServiceCategory="Compute", ServiceSubcategory="Virtual Machines",
                  ResourceId=rid, ResourceName=n.name, ResourceType="Instance", AvailabilityZone=n.zone,
                  Tags=tags({"goog-k8s-cluster-name": c.name, "goog-k8s-node-pool-name": pool.name,
                             "goog-gke-node": ""}))
    family = it.name.split("-")[0].upper()
    f.row(at, 1, day, c.name, "node", billed - it.gpu_price, SkuId=f"{family}-core-ram-{c.region}",
          SkuMeter=f"{family} Instance Core and Ram",
          ChargeDescription=f"{family} Predefined Instance Core and Ram running in Netherlands", **common)
    if it.gpu:
        f.row(at, 1, day, c.name, "node", it.gpu_price, quantity=it.gpu, SkuId=f"{it.gpu_model}-{c.region}",
              SkuMeter="GPU", ChargeDescription="Nvidia L4 GPU running in Netherlands", **common)


def _vmss_rows(f: _File, c: Cluster, pools, alive, at, day: int) -> None:
    for name, pool in sorted(pools.items()):
        count = sum(1 for n in alive if n.pool == name)
        if not count:
            continue
        vmss = f"aks-{name}-{c.vmss_suffix}-vmss"
        rid = (f"/subscriptions/{c.account_id}/resourceGroups/{c.node_resource_group}/providers/"
               f"Microsoft.Compute/virtualMachineScaleSets/{vmss}")
        it = pool.instance
        f.row(at, 1, day, c.name, "node", count * pool.hourly_price, quantity=count, unit="1 Hour",
              ServiceName="Virtual Machines", ServiceCategory="Compute", ServiceSubcategory="Virtual Machines",
              ResourceId=rid, ResourceName=vmss, ResourceType="Virtual machine scale set",
              SkuId=f"DZH318Z0BQ4H/{it.name}", SkuMeter=it.name.replace("Standard_", "").replace("_", " "),
              ChargeDescription=f"{it.name} Linux Virtual Machines",
              Tags=tags({"aks-managed-cluster-name": c.name, "aks-managed-poolName": name,
                         "aks-managed-orchestrator": "Kubernetes:1.30.5",
                         "aks-managed-createOperationID": "8d2f5c1e-0b7a-4f3e-9d61-2a4c7e9f0b13"}))


def disk_hourly_price(provider: str, sc, size_gib: float) -> tuple[float, str]:
    """Billed $/hour of a disk of `size_gib` on storage class `sc`, and its SKU description."""
    if provider == "azure":
        premium = sc.parameters.get("skuName", "").lower().startswith("premium")
        tier, monthly = tier_price(PREMIUM_TIERS if premium else STANDARD_SSD_TIERS, size_gib)
        return monthly / HOURS_PER_MONTH, f"{'Premium SSD' if premium else 'Standard SSD'} Managed Disk {tier}"
    return size_gib * sc.price_gib_month / HOURS_PER_MONTH, f"{sc.parameters.get('type', sc.name)} GB-month"


def _disk_row(f: _File, c: Cluster, v, sc, h: int, at, day: int) -> None:
    size = v.size_at(h)
    hourly, description = disk_hourly_price(c.provider, sc, size)
    if c.provider == "aws":
        rid, service, unit = v.volume_id, "Amazon Elastic Block Store", "GB-Mo"
    elif c.provider == "gcp":
        rid, service, unit = f"//compute.googleapis.com/{v.volume_id}", "Compute Engine", "GiBy.mo"
    else:
        rid = (f"/subscriptions/{c.account_id}/resourceGroups/{c.node_resource_group}/providers/"
               f"Microsoft.Compute/disks/{v.disk_name}")
        service, unit = "Storage", "1/Month"
    quantity = size / HOURS_PER_MONTH if c.provider != "azure" else 1 / HOURS_PER_MONTH
    pvc = {"kubernetes.io/created-for/pvc/name": v.claim[1], "kubernetes.io/created-for/pvc/namespace": v.claim[0]} \
        if v.claim else {}
    f.row(at, 1, day, c.name, "volume", hourly, quantity=quantity, unit=unit, ServiceName=service,
          ServiceCategory="Storage", ServiceSubcategory="Block Storage", ResourceId=rid, ResourceName=v.disk_name,
          ResourceType="Disk", AvailabilityZone=v.zone, SkuId=f"{c.provider}-disk-{sc.name}",
          ChargeDescription=description, Tags=tags(pvc | {"kubernetes.io/created-for/pv/name": v.pv}))


EXTERNAL = {
    "aws": (("Amazon Simple Storage Service", "Storage", "Object Storage", "acme-data-lake", 0.1575, "GB-Mo"),
            ("Amazon Relational Database Service", "Databases", "Relational Databases",
             "arn:aws:rds:us-east-1:111122223333:db:orders-analytics", 0.225, "Hours")),
    "gcp": (("Cloud Storage", "Storage", "Object Storage", "acme-ml-datasets", 0.08, "GiBy.mo"),
            ("BigQuery", "Analytics", "Data Warehouse", "acme-ml-prod:warehouse", 0.35, "Slot hours")),
    "azure": (("SQL Database", "Databases", "Relational Databases", "sqldb-web-prod", 0.52, "1 Hour"),
              ("Storage", "Storage", "Object Storage", "stwebprodassets", 0.06, "1 GB/Month")),
}


def _external_rows(f: _File, c: Cluster, h: int, at, day: int) -> None:
    for service, category, sub, resource, price, unit in EXTERNAL[c.provider]:
        f.row(at, 1, day, "", "external", price, unit=unit, ServiceName=service, ServiceCategory=category,
              ServiceSubcategory=sub, ResourceId=resource, ResourceName=resource.rsplit(":", 1)[-1],
              SkuId=f"{c.provider}-{sub.lower().replace(' ', '-')}", ChargeDescription=f"{service} usage",
              Tags=tags({"team": "data", "env": "prod"}))
    if c.provider == "aws" and h == f.credit_hour:
        f.row(at, 24, day, "", "external", CREDIT, quantity=0, unit="", ChargeCategory="Credit",
              ServiceName="Amazon Simple Storage Service", ServiceCategory="Storage",
              ServiceSubcategory="Object Storage", ChargeFrequency="One-Time",
              ChargeDescription="AWS Promotional Credit applied", ResourceId="", ResourceName="")


__all__ = ["write_billing", "Ledger", "disk_hourly_price", "HOURS_PER_MONTH", "LOG_PRICE_PER_GIB"]
