"""expensive_default_storage_class: a premium default class with volumes of unknown IOPS need."""

from datetime import datetime

import pytest

from tests.tools.detectors.world import GIB, HOURS, alloc, insert, insert_many, node, run


def sc_world(ctx, default_type="io2", default=True, volumes=2, bill=True):
    node(ctx, "n1", "general")
    alloc(ctx, cpu_cost=0.05, cpu_hours=1.0, pod_hours=1.0)
    insert(ctx, "storage_classes", cluster="c1", name="fast", provisioner="ebs.csi.aws.com",
           parameters={"type": default_type}, is_default=default)
    insert(ctx, "storage_classes", cluster="c1", name="gp3", provisioner="ebs.csi.aws.com",
           parameters={"type": "gp3"}, is_default=not default)
    for i in range(volumes):
        insert(ctx, "pvs", cluster="c1", pv=f"pv-{i}", volume_id=f"vol-{i}", storage_class="fast",
               capacity_bytes=100 * GIB, claim_namespace="shop", claim_name=f"data-{i}", phase="Bound",
               created_at=datetime(2026, 9, 1))
        if bill:
            insert_many(ctx, "billing_attribution", [dict(cluster="c1", hour=h, kind="volume", resource_id=f"vol-{i}",
                                                          billed_cost=0.1, effective_cost=0.1) for h in HOURS])


def test_io2_default_is_flagged_with_the_tier_gap(ctx):
    sc_world(ctx)
    (f,), _ = run(ctx, "expensive_default_storage_class")
    assert (f.object.kind, f.object.name) == ("StorageClass", "fast")
    assert f.evidence.figures["volumes"] == 2 and f.evidence.figures["cheaper_tier"] == "gp3"
    # 2 volumes x $0.10 an hour x 36% (io2 -> gp3) x 730
    assert f.monthly_savings == pytest.approx(round(0.2 * 0.36 * 730, 2))
    assert any("IOPS" in item for item in f.lacked) and f.confidence == "medium"


def test_standard_default_or_premium_non_default_is_not_flagged(ctx):
    sc_world(ctx, default_type="gp3")
    assert run(ctx, "expensive_default_storage_class")[0] == []


def test_premium_class_that_is_not_default_is_not_flagged(ctx):
    sc_world(ctx, default=False)
    assert run(ctx, "expensive_default_storage_class")[0] == []


def test_premium_default_without_volumes_costs_nothing(ctx):
    sc_world(ctx, volumes=0)
    assert run(ctx, "expensive_default_storage_class")[0] == []


def test_unbilled_volumes_are_reported_unpriced(ctx):
    sc_world(ctx, bill=False)
    (f,), _ = run(ctx, "expensive_default_storage_class")
    assert f.monthly_savings is None
    assert "billing rows for 2 of 2 volumes" in f.lacked
