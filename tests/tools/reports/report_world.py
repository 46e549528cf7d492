"""A small two-week world for the report and export tests, written straight into the tables.

Cluster ``gke`` (GCP), 2026-11-09 .. 2026-11-23. Per hour (costs in USD):

* pool ``general`` (node ``gke-general-1``): web/Deployment/frontend 1.00, shop/Deployment/api 0.50
  (0.80 in the second week), scratch/Deployment/tmp (no owner labels) 0.20, idle 0.30;
* pool ``gpu`` (node ``gke-gpu-1``, 1 GPU): ai-evals/CronJob/nightly-evals 2.00 of GPU
  (5.00 in the second week), idle 1.00;
* ``__shared__:kube-system`` 0.40 and ``__shared__:control-plane`` 0.10;
* disk ``pd-orphan`` -> ``__unowned_storage__`` 0.05.

The bill has one daily FOCUS row per node, the disk and the control plane, and one row for
an out-of-cluster service (BigQuery, 3.00 a day). ``billing_attribution`` spreads them per hour.
"""

from __future__ import annotations

from datetime import datetime, timedelta

START = datetime(2026, 11, 9)
DAYS = 14
SPLIT = START + timedelta(days=7)

# (bucket, namespace, kind, name, pool, column, week1, week2, billed resource)
ROWS = [
    ("workload", "web", "Deployment", "frontend", "general", "cpu_cost", 1.00, 1.00, "gke-general-1"),
    ("workload", "shop", "Deployment", "api", "general", "cpu_cost", 0.50, 0.80, "gke-general-1"),
    ("workload", "scratch", "Deployment", "tmp", "general", "cpu_cost", 0.20, 0.20, "gke-general-1"),
    ("idle", "", "", "__idle__", "general", "cpu_cost", 0.30, 0.30, "gke-general-1"),
    ("workload", "ai-evals", "CronJob", "nightly-evals", "gpu", "gpu_cost", 2.00, 5.00, "gke-gpu-1"),
    ("idle", "", "", "__idle__", "gpu", "gpu_cost", 1.00, 1.00, "gke-gpu-1"),
    ("shared", "kube-system", "Namespace", "__shared__:kube-system", "general", "cpu_cost", 0.40, 0.40, "gke-general-1"),
    ("shared", "", "", "__shared__:control-plane", "", "other_cost", 0.10, 0.10, "control-plane"),
    ("unowned_storage", "", "", "__unowned_storage__", "", "storage_cost", 0.05, 0.05, "pd-orphan"),
]
RESOURCES = {  # resource -> (ResourceId, ServiceName, attribution kind)
    "gke-general-1": ("gke-general-1", "Compute Engine", "node"),
    "gke-gpu-1": ("gke-gpu-1", "Compute Engine", "node"),
    "pd-orphan": ("projects/p/zones/us-central1-a/disks/pd-orphan", "Compute Engine", "volume"),
    "control-plane": ("projects/p/locations/us-central1/clusters/gke", "Kubernetes Engine", "control_plane"),
}
OWNERS = [  # namespace, kind, name, owner, team, service, env, cost_center, workload_type, source
    ("web", "Deployment", "frontend", "web-team", "web", "storefront", "prod", "cc-100", "web", "controller"),
    ("shop", "Deployment", "api", "shop-team", "shop", "checkout", "prod", None, "api", "namespace"),
    ("scratch", "Deployment", "tmp", "unowned", None, None, None, None, None, "none"),
    ("ai-evals", "CronJob", "nightly-evals", "ml-platform", "ml", "evals", "staging", "cc-200", "eval", "controller"),
]


def build(ctx) -> None:
    """Fill allocation_hours, workload_owners, nodes, billing_rows and billing_attribution."""
    db = ctx.db
    db.execute("INSERT INTO clusters VALUES ('gke', 'gcp', 'us-central1', 'p')")
    for node, pool, gpus in (("gke-general-1", "general", 0), ("gke-gpu-1", "gpu", 1)):
        db.execute("INSERT INTO nodes (cluster, node, instance_id, node_pool, capacity_type, gpu_allocatable) "
                   "VALUES ('gke', ?, ?, ?, 'on-demand', ?)", [node, node, pool, gpus])
    for o in OWNERS:
        labels = {k: v for k, v in zip(("owner", "team", "service", "env", "cost_center", "workload_type"), o[3:9])
                  if v and v != "unowned"}
        db.execute("INSERT INTO workload_owners VALUES ('gke', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*o, labels])
    hours = [START + timedelta(hours=h) for h in range(DAYS * 24)]
    alloc, attribution = [], {}
    for hour in hours:
        for bucket, ns, kind, name, pool, column, w1, w2, resource in ROWS:
            cost = w1 if hour < SPLIT else w2
            parts = {c: 0.0 for c in ("cpu_cost", "memory_cost", "gpu_cost", "storage_cost", "network_cost",
                                      "observability_cost", "other_cost")}
            parts[column] = cost
            alloc.append(["gke", hour, bucket, ns, kind, name, pool, False, *parts.values(), cost])
            attribution[(hour, resource)] = attribution.get((hour, resource), 0.0) + cost
    db.executemany(
        "INSERT INTO allocation_hours (cluster, hour, bucket, namespace, workload_kind, workload_name, node_pool, "
        "estimated, cpu_cost, memory_cost, gpu_cost, storage_cost, network_cost, observability_cost, other_cost, cost) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", alloc)
    bill, attr = [], []
    for day in range(DAYS):
        start = START + timedelta(days=day)
        for resource, (rid, service, kind) in RESOURCES.items():
            total = sum(attribution[(start + timedelta(hours=h), resource)] for h in range(24))
            bill.append([f"d{day}-{resource}", start, rid, resource, service, total, {"goog-k8s-cluster-name": "gke"}])
            for h in range(24):
                cost = attribution[(start + timedelta(hours=h), resource)]
                attr.append(["gke", start + timedelta(hours=h), kind, rid, resource, service, cost, cost])
        bill.append([f"d{day}-bq", start, "projects/p/datasets/x", "x", "BigQuery", 3.00, {}])
        for h in range(24):
            attr.append(["", start + timedelta(hours=h), "external", "projects/p/datasets/x", "x", "BigQuery", 0.125, 0.125])
        db.execute("INSERT INTO allocation_hours (cluster, hour, bucket, namespace, workload_kind, workload_name, "
                   "node_pool, estimated, cpu_cost, memory_cost, gpu_cost, storage_cost, network_cost, "
                   "observability_cost, other_cost, cost) SELECT '', h, 'external', '', '', 'BigQuery', '', false, "
                   "0, 0, 0, 0, 0, 0, 0.125, 0.125 FROM generate_series(?::TIMESTAMP, ?::TIMESTAMP, INTERVAL 1 HOUR) t(h)",
                   [start, start + timedelta(hours=23)])
    db.executemany(
        "INSERT INTO billing_rows (delivery_id, source_file, source_row, focus_version, billing_account_id, "
        "charge_period_start, charge_period_end, charge_category, resource_id, resource_name, service_name, "
        "billed_cost, effective_cost, billing_currency, tags) "
        "VALUES ('d1', 'bill.csv', ?, '1.2', 'acct', ?, ?, 'Usage', ?, ?, ?, ?, ?, 'USD', ?)",
        [[i + 1, b[1], b[1] + timedelta(days=1), b[2], b[3], b[4], b[5], b[5], b[6]] for i, b in enumerate(bill)])
    db.executemany("INSERT INTO billing_attribution VALUES (?, ?, ?, ?, ?, ?, ?, ?)", attr)
