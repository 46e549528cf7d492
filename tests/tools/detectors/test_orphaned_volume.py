"""orphaned_volume: no claim, Released, or a claim no pod mounted for days; priced from the bill."""

from datetime import datetime

import pytest

from tests.tools.detectors.world import GIB, HOURS, alloc, insert, insert_many, node, pod, run


def billed(ctx, volume_id, per_hour):
    insert_many(ctx, "billing_attribution", [dict(cluster="c1", hour=h, kind="volume", resource_id=volume_id,
                                                  service_name="EBS", billed_cost=per_hour, effective_cost=per_hour)
                                             for h in HOURS])


def pv(ctx, name, volume_id, claim=None, phase="Bound", size_gib=100):
    insert(ctx, "pvs", cluster="c1", pv=name, volume_id=volume_id, storage_class="gp3", capacity_bytes=size_gib * GIB,
           claim_namespace=claim[0] if claim else None, claim_name=claim[1] if claim else None, phase=phase,
           created_at=datetime(2026, 9, 1))
    if claim:
        insert(ctx, "pvcs", cluster="c1", namespace=claim[0], pvc=claim[1], volume_name=name, storage_class="gp3",
               request_bytes=size_gib * GIB, phase="Bound", created_at=datetime(2026, 9, 1))


def base(ctx):
    node(ctx, "n1", "general")
    alloc(ctx, cpu_cost=0.05, cpu_hours=1.0, pod_hours=1.0)


def test_pv_without_claim_is_priced_from_its_billing_rows(ctx):
    base(ctx)
    pv(ctx, "pv-lost", "vol-0abc", phase="Available")
    billed(ctx, "vol-0abc", 0.05)
    (f,), _ = run(ctx, "orphaned_volume")
    assert (f.object.kind, f.object.name) == ("PersistentVolume", "pv-lost")
    assert f.monthly_savings == pytest.approx(0.05 * 730)
    assert f.confidence == "high"


def test_claim_unmounted_for_days_is_flagged_and_a_mounted_one_is_not(ctx):
    base(ctx)
    pv(ctx, "pv-old", "vol-0old", claim=("shop", "data-old"))
    pv(ctx, "pv-live", "vol-0live", claim=("shop", "data-live"))
    billed(ctx, "vol-0old", 0.02)
    billed(ctx, "vol-0live", 0.02)
    pod(ctx, "old-0", workload="old", hours=HOURS[:72])     # last mounted on day 3
    pod(ctx, "live-0", workload="live")                      # mounted to the end
    insert(ctx, "pod_volumes", cluster="c1", namespace="shop", pod="old-0", pvc="data-old")
    insert(ctx, "pod_volumes", cluster="c1", namespace="shop", pod="live-0", pvc="data-live")
    (f,), _ = run(ctx, "orphaned_volume")
    assert (f.object.namespace, f.object.kind, f.object.name) == ("shop", "PersistentVolumeClaim", "data-old")
    assert f.monthly_savings == pytest.approx(0.02 * 730)


def test_released_volume_still_billed(ctx):
    base(ctx)
    pv(ctx, "pv-rel", "projects/p/zones/z/disks/pv-rel", claim=("gone", "data"), phase="Released")
    ctx.db.execute("DELETE FROM pvcs")  # the claim was deleted
    billed(ctx, "//compute.googleapis.com/projects/p/zones/z/disks/pv-rel", 0.01)
    (f,), _ = run(ctx, "orphaned_volume")
    assert "Released" in f.title
    assert f.monthly_savings == pytest.approx(7.30)


def test_unbilled_volume_is_priced_at_the_clusters_storage_rate(ctx):
    node(ctx, "n1", "general")
    # $0.10 an hour of storage for 100 GiB provisioned -> $0.001 per GiB-hour
    alloc(ctx, cpu_cost=0.05, storage_cost=0.1, cpu_hours=1.0, pod_hours=1.0)
    insert_many(ctx, "volume_hours", [dict(cluster="c1", hour=h, namespace="shop", pvc="data", used_bytes=GIB,
                                           capacity_bytes=100 * GIB) for h in HOURS])
    pv(ctx, "pv-lost", "vol-0nobill", phase="Available", size_gib=50)
    (f,), _ = run(ctx, "orphaned_volume")
    assert f.monthly_savings == pytest.approx(50 * 0.001 * 730)
    assert f.confidence == "medium" and "a billing row for this volume" in f.lacked


def test_no_pod_volume_data_means_no_unmounted_verdict(ctx):
    base(ctx)
    pv(ctx, "pv-a", "vol-0a", claim=("shop", "data-a"))
    billed(ctx, "vol-0a", 0.02)
    assert run(ctx, "orphaned_volume")[0] == []
