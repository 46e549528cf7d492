"""A tiny helper to insert hand-made or random worlds straight into the warehouse tables.

Usable by any test that needs allocation input without going through the ingests::

    w = World(ctx.db)
    w.node("c1", "n1", instance_id="i-1", instance_type="m5.xlarge", pool="general",
           cpu=4, mem_gib=16, hours=hours(T0, 2))
    w.pod("c1", "shop", "web-1", "n1", "Deployment", "web", hours(T0, 2), cpu=1, mem_gib=2)
    w.bill("i-1", T0, T0 + 2 * HOUR, 0.40, service="Amazon Elastic Compute Cloud", tags={...})
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import duckdb

GIB = 1024 ** 3
HOUR = timedelta(hours=1)
T0 = datetime(2026, 3, 2, 0, 0)


def hours(start: datetime, n: int) -> list[datetime]:
    return [start + i * HOUR for i in range(n)]


class World:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self._row = 0

    def cluster(self, name: str, provider: str = "aws") -> None:
        self.con.execute("INSERT OR REPLACE INTO clusters VALUES (?, ?, NULL, NULL)", [name, provider])

    def node(self, cluster: str, node: str, *, instance_id: str | None, instance_type: str = "m5.xlarge",
             pool: str = "default", cpu: float = 4, mem_gib: float = 16, gpu: float = 0,
             hours: list[datetime], capacity_type: str = "on-demand", labels: dict | None = None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO nodes (cluster, node, provider_id, instance_id, instance_type, node_pool, "
            "capacity_type, cpu_allocatable, memory_allocatable, gpu_allocatable, labels) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [cluster, node, instance_id, instance_id, instance_type, pool, capacity_type, cpu,
             mem_gib * GIB, gpu, labels or {}],
        )
        self.con.executemany(
            "INSERT INTO node_hours VALUES (?, ?, ?, ?, ?, ?)",
            [[cluster, node, h, cpu, mem_gib * GIB, gpu] for h in hours],
        )

    def pod(self, cluster: str, namespace: str, pod: str, node: str, workload_kind: str, workload_name: str,
            hours: list[datetime], *, cpu: float = 0.5, mem_gib: float = 1, gpu: float = 0,
            cpu_usage: float | None = None, mem_usage_gib: float | None = None, fraction: float = 1.0,
            tx_bytes: float | None = None, labels: dict | None = None) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO pods (cluster, namespace, pod, node, workload_kind, workload_name, labels, "
            "first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [cluster, namespace, pod, node, workload_kind, workload_name, labels or {}, min(hours), max(hours)],
        )
        self.con.executemany(
            "INSERT INTO pod_hours VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, NULL, ?)",
            [[cluster, h, namespace, pod, node, workload_kind, workload_name, fraction, cpu, mem_gib * GIB, gpu,
              cpu_usage, None if mem_usage_gib is None else mem_usage_gib * GIB, tx_bytes] for h in hours],
        )

    def namespace(self, cluster: str, namespace: str, labels: dict | None = None) -> None:
        self.con.execute("INSERT OR REPLACE INTO namespaces (cluster, namespace, labels) VALUES (?, ?, ?)",
                         [cluster, namespace, labels or {}])

    def workload(self, cluster: str, namespace: str, kind: str, name: str, labels: dict | None = None) -> None:
        self.con.execute("INSERT OR REPLACE INTO workloads (cluster, namespace, kind, name, labels) VALUES (?, ?, ?, ?, ?)",
                         [cluster, namespace, kind, name, labels or {}])

    def volume(self, cluster: str, pv: str, volume_id: str, claim: tuple[str, str] | None = None,
               mounted_by: list[str] = ()) -> None:
        ns, pvc = claim if claim else (None, None)
        self.con.execute("INSERT INTO pvs (cluster, pv, volume_id, claim_namespace, claim_name, phase) "
                         "VALUES (?, ?, ?, ?, ?, ?)", [cluster, pv, volume_id, ns, pvc, "Bound" if claim else "Available"])
        if claim:
            self.con.execute("INSERT INTO pvcs (cluster, namespace, pvc, volume_name) VALUES (?, ?, ?, ?)",
                             [cluster, ns, pvc, pv])
            for pod in mounted_by:
                self.con.execute("INSERT INTO pod_volumes VALUES (?, ?, ?, ?)", [cluster, ns, pod, pvc])

    def service(self, cluster: str, namespace: str, service: str, lb_id: str, labels: dict | None = None) -> None:
        self.con.execute("INSERT INTO services (cluster, namespace, service, type, lb_id, labels) "
                         "VALUES (?, ?, ?, 'LoadBalancer', ?, ?)", [cluster, namespace, service, lb_id, labels or {}])

    def log_bytes(self, cluster: str, namespace: str, hour: datetime, log_bytes: float) -> None:
        self.con.execute("INSERT INTO namespace_log_hours VALUES (?, ?, ?, ?)", [cluster, hour, namespace, log_bytes])

    def bill(self, resource_id: str | None, start: datetime, end: datetime, effective: float,
             billed: float | None = None, *, service: str = "Amazon Elastic Compute Cloud",
             category: str = "Compute", tags: dict | None = None, resource_name: str | None = None,
             description: str | None = None) -> None:
        self._row += 1
        self.con.execute(
            "INSERT INTO billing_rows (delivery_id, source_file, source_row, focus_version, charge_period_start, "
            "charge_period_end, charge_category, billed_cost, effective_cost, billing_currency, resource_id, "
            "resource_name, service_name, service_category, charge_description, tags) "
            "VALUES ('test', 'test.csv', ?, '1.2', ?, ?, 'Usage', ?, ?, 'USD', ?, ?, ?, ?, ?, ?)",
            [self._row, start, end, effective if billed is None else billed, effective, resource_id,
             resource_name, service, category, description, tags or {}],
        )


def random_world(con: duckdb.DuckDBPyConnection, seed: int, *, clusters: int = 2, nodes: int = 3,
                 pods: int = 8, n_hours: int = 4) -> None:
    """A random small world exercising every rule: billed, unbilled and VMSS nodes, GPUs,
    oversubscription, volumes (claimed, mounted, orphaned), LBs, network, logs, shared namespaces."""
    rnd = random.Random(seed)
    w = World(con)
    span = hours(T0, n_hours)
    for c in range(clusters):
        cname = f"c{c}"
        w.cluster(cname)
        tag = {"eks:cluster-name": cname}
        node_names = []
        for n in range(nodes):
            node = f"{cname}-n{n}"
            node_names.append(node)
            gpu = rnd.choice([0, 0, 1, 4])
            itype = rnd.choice(["m5.xlarge", "g5.xlarge", "unknown.type"]) if gpu else rnd.choice(["m5.xlarge", "r5.xlarge", "weird.big"])
            node_hours = [h for h in span if rnd.random() < 0.85] or span[:1]
            billing = rnd.random()
            iid = f"i-{cname}{n}" if billing < 0.8 else None
            w.node(cname, node, instance_id=iid, instance_type=itype, pool=rnd.choice(["general", "gpu", "batch"]),
                   cpu=rnd.choice([2, 4, 8]), mem_gib=rnd.choice([8, 16, 32]), gpu=gpu, hours=node_hours)
            if iid:
                bill_hours = [h for h in span if rnd.random() < 0.9]
                for h in bill_hours:
                    w.bill(f"arn:aws:ec2:us-east-1:1:instance/{iid}", h, h + HOUR, round(rnd.uniform(0.05, 3), 4),
                           round(rnd.uniform(0.05, 3), 4), tags=tag)
        # a VMSS-like resource shared by two extra nodes
        for n in ("vmss-0", "vmss-1"):
            w.node(cname, f"{cname}-{n}", instance_id=f"/subscriptions/s/resourcegroups/rg/providers/"
                   f"microsoft.compute/virtualmachinescalesets/{cname}-vmss", instance_type="standard_d4s_v5",
                   pool="agents", cpu=4, mem_gib=16, hours=[h for h in span if rnd.random() < 0.7] or span[-1:])
            node_names.append(f"{cname}-{n}")
        w.bill(f"/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachineScaleSets/{cname}-vmss",
               span[0], span[-1] + HOUR, round(rnd.uniform(1, 5), 3), service="Virtual Machines")
        namespaces = ["shop", "ml", "kube-system", "data"]
        for ns in namespaces:
            w.namespace(cname, ns, {"team": f"team-{ns}"} if rnd.random() < 0.5 else {})
        for p in range(pods):
            ns = rnd.choice(namespaces)
            kind = rnd.choice(["Deployment", "StatefulSet", "DaemonSet", "Job"])
            name = f"wl{p % 4}"
            node = rnd.choice(node_names + [f"{cname}-ghost"])
            pod_span = [h for h in span if rnd.random() < 0.8] or span[:1]
            w.pod(cname, ns, f"pod{p}", node, kind, name, pod_span,
                  cpu=rnd.choice([0, 0.25, 1, 3]), mem_gib=rnd.choice([0, 0.5, 4, 12]), gpu=rnd.choice([0, 0, 1]),
                  cpu_usage=rnd.choice([None, 0.1, 2.5, 6]), mem_usage_gib=rnd.choice([None, 1, 20]),
                  fraction=rnd.choice([1.0, 0.5, 0.25]), tx_bytes=rnd.choice([None, 0, 1e6, 5e8]),
                  labels={"owner": "alice"} if rnd.random() < 0.3 else {})
            if rnd.random() < 0.3:
                w.volume(cname, f"pv{p}", f"vol-{cname}{p}", claim=(ns, f"data-{p}"), mounted_by=[f"pod{p}"])
                w.bill(f"vol-{cname}{p}", span[0], span[-1] + HOUR, round(rnd.uniform(0.1, 1), 3),
                       service="Amazon Elastic Block Store", category="Storage")
        w.volume(cname, "orphan", f"vol-{cname}-orphan")
        w.bill(f"vol-{cname}-orphan", span[0], span[-1] + HOUR, 0.37, service="Amazon Elastic Block Store",
               category="Storage")
        w.service(cname, "shop", "front", f"lb-{cname}")
        w.bill(f"arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/lb-{cname}/abc", span[0], span[-1] + HOUR,
               0.5, service="Elastic Load Balancing", category="Networking")
        w.bill(f"arn:aws:eks:us-east-1:1:cluster/{cname}", span[0], span[-1] + HOUR, 0.1 * n_hours,
               service="Amazon Elastic Kubernetes Service", category="Compute", tags=tag)
        w.bill("nat-1", span[0], span[-1] + HOUR, round(rnd.uniform(0.1, 2), 3), service="Amazon Virtual Private Cloud",
               category="Networking", tags=tag)
        w.bill("loggroup", span[0], span[-1] + HOUR, 0.8, service="AmazonCloudWatch",
               category="Management and Governance", tags=tag)
        for h in span:
            if rnd.random() < 0.6:
                w.log_bytes(cname, rnd.choice(namespaces), h, rnd.choice([0, 1e6, 3e7]))
        w.bill("q-1", span[0], span[-1] + HOUR, 0.6, service="Amazon SQS", category="Integration", tags=tag)
        w.bill(f"i-{cname}-gone", span[0], span[0] + HOUR, 0.2, tags=tag)  # tagged, nothing matches
    w.bill("bucket-1", T0 - HOUR, span[-1] + HOUR, 1.23, service="Amazon Simple Storage Service", category="Storage")
    w.bill(None, T0, T0 + 24 * HOUR, -0.5, service="Credits", category="Other")
