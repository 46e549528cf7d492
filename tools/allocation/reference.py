"""The reference allocation: the same rules as the SQL engine, in plain Python.

A small, deliberately naive implementation (dicts and loops over every row) used as the test
oracle on generated worlds and as the naive baseline of the benchmark. It shares nothing
with the SQL engine except the warehouse tables it reads, the settings and the price table
(input data, like the bill). The rules are those of DESIGN.md and the docstrings of
``tools.allocation.attribution``, ``node_costs``, ``pod_costs``, ``cluster_costs``,
``buckets`` and ``owners``, written again from scratch here.

``reference_allocation(con, settings)`` returns
``{(cluster, hour, bucket, namespace, workload_kind, workload_name, node_pool, estimated):
{cpu_cost, memory_cost, gpu_cost, storage_cost, network_cost, observability_cost, other_cost,
cost, pod_hours, cpu_charged_hours, memory_charged_gib_hours, gpu_hours}}``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import duckdb

from tools.allocation.prices import FALLBACK_CPU_HOUR, FALLBACK_GIB_HOUR, FALLBACK_GPU_HOUR, INSTANCE_PRICES
from tools.settings import AllocationSettings

GIB = 1024.0 ** 3
HOUR = timedelta(hours=1)
PARTS = ("cpu_cost", "memory_cost", "gpu_cost", "storage_cost", "network_cost", "observability_cost", "other_cost")
TAGS = ("eks:cluster-name", "aws:eks:cluster-name", "goog-k8s-cluster-name", "aks-managed-cluster-name",
        "kubernetes_cluster")


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _ends(rid: str, key: str) -> bool:
    return rid == key or rid.endswith("/" + key)


def _has(text: str | None, *needles: str) -> bool:
    low = (text or "").lower()
    return any(n in low for n in needles)


def _service_kind(r: dict) -> str:
    name = (r["service_name"] or "").lower()
    if ("elastic kubernetes service" in name or name.startswith("amazon eks") or "kubernetes engine" in name
            or "azure kubernetes service" in name or name.startswith("aks") or name.startswith("gke")):
        return "control_plane"
    if (r["service_subcategory"] or "").lower() == "observability" or _has(
            name, "cloudwatch", "cloud logging", "cloud monitoring", "log analytics", "azure monitor", "stackdriver"):
        return "observability"
    if ((r["service_category"] or "").lower() == "networking" or _has(name, "nat gateway", "cloud nat", "data transfer")
            or _has(r["charge_description"], "nat gateway", "natgateway", "data transfer", "datatransfer")):
        return "network"
    return "other"


def _tag_cluster(tags: dict | None) -> str | None:
    tags = tags or {}
    for key in TAGS:
        if tags.get(key):
            return tags[key]
    for key in tags:
        if key.startswith("kubernetes.io/cluster/"):
            return key[len("kubernetes.io/cluster/"):]
    return None


def _hours(start: datetime, end: datetime):
    """(hour, share) over [start, end), by overlap; an empty period is one hour."""
    if end <= start:
        yield start.replace(minute=0, second=0, microsecond=0), 1.0
        return
    total = (end - start).total_seconds()
    h = start.replace(minute=0, second=0, microsecond=0)
    while h < end:
        yield h, (min(end, h + HOUR) - max(start, h)).total_seconds() / total
        h += HOUR


def _price(node: dict) -> tuple[float, float]:
    """(hourly price, gpu share) from the price table or the fallback rates."""
    fallback = node["cpu"] * FALLBACK_CPU_HOUR + node["mem"] * FALLBACK_GIB_HOUR + node["gpu"] * FALLBACK_GPU_HOUR
    known = INSTANCE_PRICES.get((node["instance_type"] or "").strip().lower())
    if node["gpu"] > 0:
        share = known.gpu_share if known else (node["gpu"] * FALLBACK_GPU_HOUR / fallback if fallback else 0.0)
    else:
        share = 0.0
    return (known.hourly if known else fallback), share


def reference_allocation(con: duckdb.DuckDBPyConnection, settings: AllocationSettings) -> dict[tuple, dict]:
    basis = "billed_cost" if settings.cost_basis == "billed" else "effective_cost"
    nodes = {(n["cluster"], n["node"]): n for n in _rows(con, "SELECT * FROM nodes")}
    clusters = {r["cluster"] for r in _rows(con, "SELECT cluster FROM clusters")} | {c for c, _ in nodes}
    pvs = _rows(con, "SELECT * FROM pvs")
    pvc_by_pv = {}
    for c in _rows(con, "SELECT * FROM pvcs WHERE volume_name IS NOT NULL ORDER BY namespace, pvc"):
        pvc_by_pv.setdefault((c["cluster"], c["volume_name"]), (c["namespace"], c["pvc"]))
    services = _rows(con, "SELECT * FROM services WHERE lb_id IS NOT NULL AND lb_id <> ''")

    # 1. every billing row -> (cluster, kind, targets), spread over hours
    bill = defaultdict(float)   # (cluster, kind, key, hour) -> cost; key = targets tuple or service
    for r in _rows(con, "SELECT * FROM billing_rows"):
        rid, rname = (r["resource_id"] or "").lower(), (r["resource_name"] or "").lower()
        node_t = tuple(sorted(k for k, n in nodes.items() if rid and n["instance_id"] and _ends(rid, n["instance_id"].lower())))
        pv_t = tuple(sorted((p["cluster"], p["pv"]) for p in pvs if rid and p["volume_id"] and _ends(rid, p["volume_id"].lower())))
        lb_t = tuple(sorted((s["cluster"], s["namespace"], s["service"]) for s in services
                            if s["lb_id"].lower() in rid or s["lb_id"].lower() in rname))
        id_cluster = min((c for c in clusters if rid and any(
            rid.endswith(p + c.lower()) for p in ("cluster/", "clusters/", "managedclusters/"))), default=None)
        if node_t:
            cluster, kind, key = node_t[0][0], "node", node_t
        elif pv_t:
            cluster, kind, key = pv_t[0][0], "volume", pv_t
        elif lb_t:
            cluster, kind, key = min(t[0] for t in lb_t), "load_balancer", lb_t
        else:
            cluster = id_cluster or _tag_cluster(r["tags"])
            kind = _service_kind(r) if cluster else "external"
            key = r["service_name"] or "unknown service" if not cluster else None
            cluster = cluster or ""
        for hour, share in _hours(r["charge_period_start"], r["charge_period_end"]):
            bill[(cluster, kind, key, hour)] += r[basis] * share

    out: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))

    def add(cluster, hour, special, ns, kind, name, pool, estimated, **values):
        if special is None:
            if ns in settings.shared_namespaces:
                special, kind, name = "shared", "", f"__shared__:{ns}"
            elif settings.daemonsets_shared and kind == "DaemonSet":
                special, kind, name = "shared", "", "__shared__:daemonsets"
            else:
                special = "workload"
        row = out[(cluster, hour, special, ns, kind, name, pool, estimated)]
        for k, v in values.items():
            row[k] += v
            if k in PARTS:
                row["cost"] += v

    # 2. node-hours, priced from the bill or estimated
    node_hour = {}
    for h in _rows(con, "SELECT * FROM node_hours"):
        n = nodes.get((h["cluster"], h["node"]), {})
        node_hour[(h["cluster"], h["node"], h["hour"])] = {
            "cpu": h["cpu_allocatable"], "mem": h["memory_allocatable"] / GIB, "gpu": h["gpu_allocatable"],
            "pool": n.get("node_pool") or "default", "instance_type": n.get("instance_type"), "cost": 0.0,
            "billed": False}
    for (cluster, kind, key, hour), cost in bill.items():
        if kind != "node":
            continue
        present = [(c, node) for c, node in key if (c, node, hour) in node_hour]
        if not present:
            pool = min(nodes[k]["node_pool"] for k in key)
            add(cluster, hour, "unallocated", "", "", "__unallocated__", pool, False, other_cost=cost)
        for c, node in present:
            nh = node_hour[(c, node, hour)]
            nh["cost"] += cost / len(present)
            nh["billed"] = True
    for nh in node_hour.values():
        price, share = _price(nh)
        cost = nh["cost"] if nh["billed"] else price
        nh["gpu_cost"] = cost * share
        rest = cost - nh["gpu_cost"]
        weight = settings.cpu_weight * nh["cpu"] + settings.memory_weight * nh["mem"]
        nh["cpu_cost"] = rest * settings.cpu_weight * nh["cpu"] / weight if weight > 0 else rest
        nh["memory_cost"] = rest * settings.memory_weight * nh["mem"] / weight if weight > 0 else 0.0
        nh["used"] = {"cpu": 0.0, "mem": 0.0, "gpu": 0.0}

    # 3. pods: charged quantities, then prices
    pods = _rows(con, "SELECT * FROM pod_hours")
    for p in pods:
        f = p["fraction"]
        cpu_use, mem_use = p["cpu_usage"], p["memory_usage"]
        p["chg"] = {"cpu": max(p["cpu_request"], cpu_use if cpu_use is not None else p["cpu_request"]) * f,
                    "mem": max(p["memory_request"], mem_use if mem_use is not None else p["memory_request"]) * f / GIB,
                    "gpu": p["gpu_request"] * f}
        nh = node_hour.get((p["cluster"], p["node"], p["hour"]))
        if nh:
            for r in ("cpu", "mem", "gpu"):
                nh["used"][r] += p["chg"][r]
    for p in pods:
        nh = node_hour.get((p["cluster"], p["node"], p["hour"]))
        if nh is None:
            pool = nodes.get((p["cluster"], p["node"]), {}).get("node_pool") or ""
            costs = {"cpu_cost": p["chg"]["cpu"] * FALLBACK_CPU_HOUR, "memory_cost": p["chg"]["mem"] * FALLBACK_GIB_HOUR,
                     "gpu_cost": p["chg"]["gpu"] * FALLBACK_GPU_HOUR}
            estimated = True
        else:
            pool, estimated, costs = nh["pool"], not nh["billed"], {}
            for r, part in (("cpu", "cpu_cost"), ("mem", "memory_cost"), ("gpu", "gpu_cost")):
                denom = max(nh[r], nh["used"][r])
                costs[part] = nh[part] * p["chg"][r] / denom if denom > 0 else 0.0
        add(p["cluster"], p["hour"], None, p["namespace"], p["workload_kind"], p["workload_name"], pool, estimated,
            pod_hours=p["fraction"], cpu_charged_hours=p["chg"]["cpu"], memory_charged_gib_hours=p["chg"]["mem"],
            gpu_hours=p["chg"]["gpu"], **costs)
    for (cluster, _node, hour), nh in node_hour.items():
        idle = {}
        for r, part in (("cpu", "cpu_cost"), ("mem", "memory_cost"), ("gpu", "gpu_cost")):
            denom = max(nh[r], nh["used"][r])
            idle[part] = nh[part] * (1 - nh["used"][r] / denom) if denom > 0 else nh[part]
        add(cluster, hour, "idle", "", "", "__idle__", nh["pool"], not nh["billed"],
            cpu_charged_hours=max(nh["cpu"] - nh["used"]["cpu"], 0), memory_charged_gib_hours=max(nh["mem"] - nh["used"]["mem"], 0),
            gpu_hours=max(nh["gpu"] - nh["used"]["gpu"], 0), **idle)

    # 4. cluster-level costs
    mounted = defaultdict(lambda: defaultdict(float))   # (cluster, hour, ns, pvc) -> {(kind, name): weight}
    claims_of_pod = defaultdict(list)
    for v in _rows(con, "SELECT * FROM pod_volumes"):
        claims_of_pod[(v["cluster"], v["namespace"], v["pod"])].append(v["pvc"])
    tx = defaultdict(list)
    for p in pods:
        for pvc in claims_of_pod.get((p["cluster"], p["namespace"], p["pod"]), ()):
            mounted[(p["cluster"], p["hour"], p["namespace"], pvc)][(p["workload_kind"], p["workload_name"])] += p["fraction"]
        if p["network_tx_bytes"] and p["network_tx_bytes"] > 0:
            tx[(p["cluster"], p["hour"])].append(p)
    logs = defaultdict(lambda: defaultdict(float))
    for lg in _rows(con, "SELECT * FROM namespace_log_hours WHERE log_bytes > 0"):
        logs[(lg["cluster"], lg["hour"])][lg["namespace"]] += lg["log_bytes"]
    pv_by_key = {(p["cluster"], p["pv"]): p for p in pvs}
    for (cluster, kind, key, hour), cost in bill.items():
        if kind == "volume":
            for pv_key in key:
                pv = pv_by_key[pv_key]
                ns, pvc = (pv["claim_namespace"], pv["claim_name"]) if pv["claim_name"] else pvc_by_pv.get(pv_key, (None, None))
                share = cost / len(key)
                users = mounted.get((cluster, hour, ns, pvc), {})
                total = sum(users.values())
                if total > 0:
                    for (wk, wn), w in users.items():
                        add(cluster, hour, None, ns, wk, wn, "", False, storage_cost=share * w / total)
                else:
                    add(cluster, hour, "unowned_storage", ns or "", "", "__unowned_storage__", "", False, storage_cost=share)
        elif kind == "load_balancer":
            targets = [t for t in key if t[0] == cluster]
            for _, ns, svc in targets:
                add(cluster, hour, None, ns, "Service", svc, "", False, network_cost=cost / len(targets))
        elif kind == "network":
            senders = tx.get((cluster, hour), [])
            total = sum(p["network_tx_bytes"] for p in senders)
            if total > 0:
                for p in senders:
                    add(cluster, hour, None, p["namespace"], p["workload_kind"], p["workload_name"], "", False,
                        network_cost=cost * p["network_tx_bytes"] / total)
            else:
                add(cluster, hour, "shared", "", "", "__shared__:network", "", False, network_cost=cost)
        elif kind == "observability":
            per_ns = logs.get((cluster, hour), {})
            total = sum(per_ns.values())
            if total > 0:
                for ns, b in per_ns.items():
                    add(cluster, hour, None, ns, "Namespace", ns, "", False, observability_cost=cost * b / total)
            else:
                add(cluster, hour, "shared", "", "", "__shared__:observability", "", False, observability_cost=cost)
        elif kind == "control_plane":
            add(cluster, hour, "shared", "", "", "__shared__:control-plane", "", False, other_cost=cost)
        elif kind == "other":
            add(cluster, hour, "unallocated", "", "", "__unallocated__", "", False, other_cost=cost)
        elif kind == "external":
            add("", hour, "external", "", "", key, "", False, other_cost=cost)
    return {k: dict(v) for k, v in out.items()}


def reference_owners(con: duckdb.DuckDBPyConnection, patterns: list[tuple[str, dict[str, str]]]) -> dict[tuple, tuple[str, str]]:
    """{(cluster, namespace, kind, name): (owner, owner_source)} for the workload rows."""
    from fnmatch import fnmatchcase

    pod_labels = {}
    pods = _rows(con, "SELECT * FROM pods WHERE labels IS NOT NULL")
    pods.sort(key=lambda p: (p["last_seen"] or p["first_seen"] or p["created_at"] or datetime.min, p["pod"]))
    for p in pods:
        pod_labels[(p["cluster"], p["namespace"], p["workload_kind"], p["workload_name"])] = p["labels"]
    ctl = {(w["cluster"], w["namespace"], w["kind"], w["name"]): w["labels"] or {} for w in _rows(con, "SELECT * FROM workloads")}
    for s in _rows(con, "SELECT * FROM services"):
        ctl.setdefault((s["cluster"], s["namespace"], "Service", s["service"]), s["labels"] or {})
    ns_labels = {(n["cluster"], n["namespace"]): n["labels"] or {} for n in _rows(con, "SELECT * FROM namespaces")}
    result = {}
    for w in _rows(con, "SELECT DISTINCT cluster, namespace, workload_kind, workload_name FROM allocation_hours WHERE bucket = 'workload'"):
        key = (w["cluster"], w["namespace"], w["workload_kind"], w["workload_name"])
        yaml_fields = next((f for pat, f in patterns if fnmatchcase(w["namespace"], pat)), {})
        sources = [("pod", pod_labels.get(key) or {}), ("controller", ctl.get(key, {})),
                   ("namespace", ns_labels.get((w["cluster"], w["namespace"]), {})), ("owners.yaml", yaml_fields)]
        found = None
        for field in ("owner", "team"):
            found = next(((labels[field], src) for src, labels in sources if labels.get(field)), None)
            if found:
                break
        result[key] = found or ("unowned", "none")
    return result
