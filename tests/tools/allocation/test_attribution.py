"""Billing rows -> cluster, kind and hour: spreading, providerID matching, VMSS split, tags."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.tools.allocation.worlds import HOUR, T0, World, hours
from tools.allocation import rebuild_allocation


def _attribution(ctx):
    return ctx.db.execute("SELECT cluster, kind, hour, effective_cost FROM billing_attribution ORDER BY ALL").fetchall()


def test_rows_spread_over_their_hours_by_overlap(ctx):
    w = World(ctx.db)
    w.bill("x", T0, T0 + 24 * HOUR, 2.4, service="S")                                   # daily: 0.1 per hour
    w.bill("y", T0 + timedelta(minutes=30), T0 + timedelta(minutes=90), 1.0, service="S")  # half in each hour
    w.bill("z", T0 + timedelta(minutes=10), T0 + timedelta(minutes=10), 0.7, service="S")  # empty period
    rebuild_allocation(ctx)
    per_hour = dict(ctx.db.execute("SELECT hour, sum(effective_cost) FROM billing_attribution GROUP BY 1").fetchall())
    assert len(per_hour) == 24
    assert per_hour[T0] == pytest.approx(0.1 + 0.5 + 0.7)
    assert per_hour[T0 + HOUR] == pytest.approx(0.1 + 0.5)
    assert per_hour[T0 + 5 * HOUR] == pytest.approx(0.1)
    # tied to no cluster: external lines named by service
    assert {r[0] for r in ctx.db.execute("SELECT DISTINCT workload_name FROM allocation_hours").fetchall()} == {"S"}


def test_vmss_row_splits_over_the_scale_set_nodes_present(ctx):
    w = World(ctx.db)
    vmss = "/subscriptions/s1/resourcegroups/mc_rg/providers/microsoft.compute/virtualmachinescalesets/aks-pool1-vmss"
    w.node("aks", "aks-pool1-0", instance_id=vmss, instance_type="standard_d4s_v5", pool="pool1", hours=hours(T0, 2))
    w.node("aks", "aks-pool1-1", instance_id=vmss, instance_type="standard_d4s_v5", pool="pool1", hours=hours(T0, 1))
    w.bill("/subscriptions/S1/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool1-vmss",
           T0, T0 + 3 * HOUR, 0.9, service="Virtual Machines")   # 0.3 per hour
    rebuild_allocation(ctx)
    idle = ctx.db.execute("SELECT hour, bucket, node_pool, cost FROM allocation_hours ORDER BY hour").fetchall()
    # hour 0: two nodes (0.15 each, all idle), hour 1: one node (0.3), hour 2: no node -> unallocated
    assert idle == [(T0, "idle", "pool1", pytest.approx(0.3)), (T0 + HOUR, "idle", "pool1", pytest.approx(0.3)),
                    (T0 + 2 * HOUR, "unallocated", "pool1", pytest.approx(0.3))]
    assert {r[0] for r in ctx.db.execute("SELECT DISTINCT cluster FROM billing_attribution").fetchall()} == {"aks"}


def test_gcp_node_and_disk_match_by_path_suffix(ctx):
    w = World(ctx.db)
    w.node("gke", "gke-a-1", instance_id="gke-a-1", instance_type="e2-standard-4", hours=hours(T0, 1))
    w.volume("gke", "pvc-1", "projects/p/zones/us-central1-a/disks/pvc-1")
    w.bill("projects/p/zones/us-central1-a/instances/gke-a-1", T0, T0 + HOUR, 0.2, service="Compute Engine")
    w.bill("projects/p/zones/us-central1-a/disks/pvc-1", T0, T0 + HOUR, 0.05, service="Compute Engine")
    # a different instance whose name ends like ours must not match
    w.bill("projects/p/zones/us-central1-a/instances/xgke-a-1", T0, T0 + HOUR, 0.07, service="Compute Engine")
    rebuild_allocation(ctx)
    assert _attribution(ctx) == [
        ("", "external", T0, pytest.approx(0.07)), ("gke", "node", T0, pytest.approx(0.2)),
        ("gke", "volume", T0, pytest.approx(0.05))]
    # the disk has no claim: unowned storage
    assert ctx.db.execute("SELECT workload_name, storage_cost FROM allocation_hours WHERE bucket = 'unowned_storage'"
                          ).fetchall() == [("__unowned_storage__", pytest.approx(0.05))]


def test_cluster_tags_and_kinds(ctx):
    w = World(ctx.db)
    w.bill("a", T0, T0 + HOUR, 1, service="Amazon Virtual Private Cloud", category="Networking",
           tags={"kubernetes.io/cluster/blue": "owned"})
    w.bill("b", T0, T0 + HOUR, 2, service="Cloud Logging", category="Management and Governance",
           tags={"goog-k8s-cluster-name": "green"})
    w.bill("c", T0, T0 + HOUR, 3, service="Azure Kubernetes Service", category="Compute",
           tags={"aks-managed-cluster-name": "red"})
    w.bill("d", T0, T0 + HOUR, 4, service="Amazon SQS", category="Integration", tags={"kubernetes_cluster": "blue"})
    rebuild_allocation(ctx)
    assert _attribution(ctx) == [("blue", "network", T0, 1), ("blue", "other", T0, 4),
                                 ("green", "observability", T0, 2), ("red", "control_plane", T0, 3)]
    buckets = ctx.db.execute("SELECT cluster, workload_name, cost FROM allocation_hours ORDER BY ALL").fetchall()
    assert buckets == [("blue", "__shared__:network", 1), ("blue", "__unallocated__", 4),
                       ("green", "__shared__:observability", 2), ("red", "__shared__:control-plane", 3)]


def test_logging_splits_by_namespace_log_bytes(ctx):
    w = World(ctx.db)
    w.log_bytes("k", "shop", T0, 3e9)
    w.log_bytes("k", "kube-system", T0, 1e9)
    w.bill("lg", T0, T0 + HOUR, 0.4, service="AmazonCloudWatch", category="Management and Governance",
           tags={"eks:cluster-name": "k"})
    rebuild_allocation(ctx)
    rows = ctx.db.execute("SELECT bucket, namespace, workload_kind, workload_name, observability_cost "
                          "FROM allocation_hours ORDER BY ALL").fetchall()
    assert rows == [("shared", "kube-system", "", "__shared__:kube-system", pytest.approx(0.1)),
                    ("workload", "shop", "Namespace", "shop", pytest.approx(0.3))]


def test_rebuild_is_idempotent_and_atomic(ctx):
    w = World(ctx.db)
    w.node("k", "n", instance_id="i-1", hours=hours(T0, 2))
    w.bill("i-1", T0, T0 + 2 * HOUR, 1.0)
    first = rebuild_allocation(ctx)
    before = ctx.db.execute("SELECT * FROM allocation_hours ORDER BY ALL").fetchall()
    second = rebuild_allocation(ctx)
    assert ctx.db.execute("SELECT * FROM allocation_hours ORDER BY ALL").fetchall() == before
    assert first.rows == second.rows
    # a rebuild failing half-way (after allocation_hours was rewritten) leaves every table as it was
    w.bill("i-1", T0, T0 + 2 * HOUR, 5.0)
    ctx.db.execute("ALTER TABLE workload_owners RENAME TO workload_owners_moved")
    with pytest.raises(Exception, match="workload_owners"):
        rebuild_allocation(ctx)
    ctx.db.execute("ALTER TABLE workload_owners_moved RENAME TO workload_owners")
    assert ctx.db.execute("SELECT * FROM allocation_hours ORDER BY ALL").fetchall() == before
