"""Small hand-made worlds for the detector tests, inserted straight into the warehouse tables.

Every helper writes plain rows; the tests compute expected figures by hand from the values
they pass in here. Default window: 14 days of hours from START, so `14d` covers them exactly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tools.context import Context
from tools.detectors.registry import run_detectors
from tools.windows import parse_window

START = datetime(2026, 11, 1)
DAYS = 14
HOURS = [START + timedelta(hours=h) for h in range(DAYS * 24)]
GIB = 1024.0**3
MIB = 1024.0**2


def insert(ctx: Context, table: str, **cols) -> None:
    names = ", ".join(cols)
    marks = ", ".join("?" for _ in cols)
    ctx.db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(cols.values()))


def insert_many(ctx: Context, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    names = list(rows[0])
    ctx.db.executemany(
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
        [[r[n] for n in names] for r in rows],
    )


def node(ctx, name, pool, *, cluster="c1", cpu=4.0, mem_gib=16.0, gpu=0.0, hours=HOURS,
         capacity_type="on-demand", instance_type="m5.xlarge", labels=None, annotations=None):
    insert(ctx, "nodes", cluster=cluster, node=name, node_pool=pool, capacity_type=capacity_type,
           instance_type=instance_type, cpu_allocatable=cpu, memory_allocatable=mem_gib * GIB,
           gpu_allocatable=gpu, labels=labels or {}, instance_id=name)
    insert_many(ctx, "node_hours", [dict(cluster=cluster, node=name, hour=h, cpu_allocatable=cpu,
                                         memory_allocatable=mem_gib * GIB, gpu_allocatable=gpu) for h in hours])
    if annotations:
        insert(ctx, "k8s_objects", cluster=cluster, kind="Node", namespace="", name=name,
               annotations=annotations, labels=labels or {}, raw="{}", snapshot_at=hours[-1])


def pod(ctx, name, *, namespace="shop", node="n1", kind="Deployment", workload="web", cluster="c1",
        hours=HOURS, cpu_request=1.0, mem_request=1 * GIB, gpu_request=0.0, cpu_usage=None,
        mem_usage=None, gpu_util=None, network_tx=None, container="app", phase="Running",
        owner_kind=None, owner_name=None, created_at=None):
    """A pod with one container; usage values may be a number, None or a function of the hour index."""

    def val(v, i):
        return v(i) if callable(v) else v

    insert(ctx, "pods", cluster=cluster, namespace=namespace, pod=name, node=node, workload_kind=kind,
           workload_name=workload, owner_kind=owner_kind or kind, owner_name=owner_name or workload,
           phase=phase, first_seen=hours[0] if hours else None, last_seen=hours[-1] if hours else None,
           created_at=created_at or (hours[0] if hours else None))
    insert_many(ctx, "pod_hours", [dict(
        cluster=cluster, hour=h, namespace=namespace, pod=name, node=node, workload_kind=kind,
        workload_name=workload, fraction=1.0, cpu_request=cpu_request, memory_request=mem_request,
        gpu_request=gpu_request, cpu_usage=val(cpu_usage, i), memory_usage=val(mem_usage, i),
        gpu_util=val(gpu_util, i), network_tx_bytes=val(network_tx, i)) for i, h in enumerate(hours)])
    insert_many(ctx, "container_hours", [dict(
        cluster=cluster, hour=h, namespace=namespace, pod=name, container=container,
        cpu_request=cpu_request, memory_request=mem_request, gpu_request=gpu_request,
        cpu_usage=val(cpu_usage, i), memory_usage=val(mem_usage, i), gpu_util=val(gpu_util, i))
        for i, h in enumerate(hours)])


def alloc(ctx, *, namespace="shop", kind="Deployment", workload="web", cluster="c1", pool="general",
          hours=HOURS, bucket="workload", cpu_cost=0.0, memory_cost=0.0, gpu_cost=0.0, storage_cost=0.0,
          observability_cost=0.0, cpu_hours=None, mem_gib_hours=None, gpu_hours=None, pod_hours=None):
    """One allocation row per hour with the given hourly costs and charged quantities."""
    rows = []
    for h in hours:
        parts = [cpu_cost, memory_cost, gpu_cost, storage_cost, observability_cost]
        parts = [p(h) if callable(p) else p for p in parts]
        rows.append(dict(cluster=cluster, hour=h, bucket=bucket, namespace=namespace, workload_kind=kind,
                         workload_name=workload, node_pool=pool, estimated=False, cpu_cost=parts[0],
                         memory_cost=parts[1], gpu_cost=parts[2], storage_cost=parts[3], network_cost=0.0,
                         observability_cost=parts[4], other_cost=0.0, cost=sum(parts),
                         pod_hours=pod_hours, cpu_request_hours=cpu_hours, memory_request_gib_hours=mem_gib_hours,
                         cpu_charged_hours=cpu_hours, memory_charged_gib_hours=mem_gib_hours, gpu_hours=gpu_hours))
    insert_many(ctx, "allocation_hours", rows)


def owner(ctx, *, namespace="shop", kind="Deployment", workload="web", cluster="c1", owner="alice",
          team="payments", workload_type=None):
    insert(ctx, "workload_owners", cluster=cluster, namespace=namespace, workload_kind=kind,
           workload_name=workload, owner=owner, team=team, owner_source="controller", workload_type=workload_type)


def run(ctx, detector: str, window: str = "14d", cluster: str | None = None):
    """Run one detector over the window; returns (findings, skipped)."""
    w = parse_window(ctx, window, cluster=cluster)
    result = run_detectors(ctx, w, cluster=cluster, detectors=[detector])
    return result.findings, result.skipped
