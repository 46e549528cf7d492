"""Small hand-made worlds for the explain / usage / node-pool tests: rows inserted directly."""

from __future__ import annotations

from datetime import datetime

BASE_HOUR = datetime(2026, 11, 15, 0)   # inside the baseline window 2026-11-14..2026-11-21
CUR_HOUR = datetime(2026, 11, 22, 0)    # inside the current window 2026-11-21..2026-11-28
LAST_HOUR = datetime(2026, 11, 27, 23)  # makes this-week = 2026-11-21..2026-11-28
BASELINE = "2026-11-14..2026-11-21"
CURRENT = "2026-11-21..2026-11-28"


def alloc(ctx, hour, namespace, name, *, cluster="gke", bucket="workload", kind="Deployment", pool="general",
          cpu_cost=0.0, memory_cost=0.0, gpu_cost=0.0, storage_cost=0.0, network_cost=0.0, other_cost=0.0,
          pod_hours=None, cpu_req=None, cpu_chg=None, mem_req=None, mem_chg=None, gpu_hours=None,
          estimated=False):
    """One allocation_hours row; cost is the sum of its parts."""
    cost = cpu_cost + memory_cost + gpu_cost + storage_cost + network_cost + other_cost
    ctx.db.execute(
        "INSERT INTO allocation_hours (cluster, hour, bucket, namespace, workload_kind, workload_name, node_pool, "
        "estimated, cpu_cost, memory_cost, gpu_cost, storage_cost, network_cost, observability_cost, other_cost, "
        "cost, pod_hours, cpu_request_hours, memory_request_gib_hours, cpu_usage_hours, memory_usage_gib_hours, "
        "cpu_charged_hours, memory_charged_gib_hours, gpu_hours) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)",
        [cluster, hour, bucket, namespace, kind, name, pool, estimated, cpu_cost, memory_cost, gpu_cost,
         storage_cost, network_cost, other_cost, cost, pod_hours, cpu_req, mem_req, cpu_chg, mem_chg, gpu_hours],
    )


def idle(ctx, hour, pool, cost, *, cluster="gke", cpu_chg=None):
    alloc(ctx, hour, "", "__idle__", cluster=cluster, bucket="idle", kind="", pool=pool, cpu_cost=cost,
          cpu_chg=cpu_chg)


def node(ctx, name, pool, *, cluster="gke", instance_type="n2-standard-8", gpus=0.0, capacity="on-demand",
         instance_id=None, labels=None, region="us-central1"):
    ctx.db.execute(
        "INSERT INTO nodes (cluster, node, instance_id, instance_type, node_pool, capacity_type, region, "
        "cpu_allocatable, memory_allocatable, gpu_allocatable, labels) VALUES (?, ?, ?, ?, ?, ?, ?, 8, 32e9, ?, ?)",
        [cluster, name, instance_id or name, instance_type, pool, capacity, region, gpus, labels or {}],
    )


def owner(ctx, namespace, kind, name, who, team=None, *, cluster="gke", source="controller"):
    ctx.db.execute(
        "INSERT INTO workload_owners (cluster, namespace, workload_kind, workload_name, owner, team, owner_source, "
        "labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [cluster, namespace, kind, name, who, team, source, {"owner": who, **({"team": team} if team else {})}],
    )


def pod_hour(ctx, hour, namespace, pod, *, cluster="gke", node="n1", kind="Deployment", name="api", fraction=1.0,
             cpu_request=1.0, memory_request=2**30, gpu_request=0.0, cpu_usage=None, memory_usage=None,
             gpu_util=None):
    ctx.db.execute(
        "INSERT INTO pod_hours (cluster, hour, namespace, pod, node, workload_kind, workload_name, fraction, "
        "cpu_request, memory_request, gpu_request, cpu_usage, memory_usage, gpu_util) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [cluster, hour, namespace, pod, node, kind, name, fraction, cpu_request, memory_request, gpu_request,
         cpu_usage, memory_usage, gpu_util],
    )
