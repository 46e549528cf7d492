"""missing_autoscaler: fixed-size pools whose load moves, no autoscaler, or scale-down disabled."""

import pytest

from tests.tools.detectors.world import GIB, HOURS, alloc, insert, node, pod, run

DAY = [h for h in HOURS if h.hour < 12]
NIGHT = [h for h in HOURS if h.hour >= 12]


def diurnal_world(ctx, annotations=None, flat=False):
    """4 nodes x 4 cores; 10 cores requested by day (0.625), 2 by night (0.125); $0.20 per node-hour."""
    for i in range(4):
        node(ctx, f"n{i}", "general", annotations=annotations)
    pod(ctx, "base", node="n0", workload="base", cpu_request=2.0, mem_request=GIB, cpu_usage=1.0)
    if not flat:
        pod(ctx, "batch", node="n1", workload="batch", cpu_request=8.0, mem_request=GIB, cpu_usage=6.0, hours=DAY)
    alloc(ctx, workload="base", cpu_cost=0.2, pod_hours=1.0, cpu_hours=2.0)
    alloc(ctx, namespace="", kind="", workload="__idle__", bucket="idle", cpu_cost=0.6)


def test_fixed_pool_with_a_daily_swing_and_no_autoscaler(ctx):
    diurnal_world(ctx)
    (f,), _ = run(ctx, "missing_autoscaler")
    assert (f.object.kind, f.object.name) == ("NodePool", "general")
    figures = f.evidence.figures
    assert figures["fixed_size"] is True and figures["autoscaler_seen"] is False
    # day: ceil(4 x 0.625 / 0.65) = 4 needed; night: ceil(4 x 0.125 / 0.65) = 1 needed -> 3 spare
    assert figures["spare_node_hours"] == 3 * len(NIGHT)
    # 504 spare node-hours / 336 h x $0.20 x 730
    assert f.monthly_savings == pytest.approx(504 / 336 * 0.2 * 730)
    assert any("cloud API" in item for item in f.lacked)


def test_cluster_with_an_autoscaler_is_not_flagged(ctx):
    diurnal_world(ctx)
    insert(ctx, "workloads", cluster="c1", namespace="kube-system", kind="Deployment", name="cluster-autoscaler")
    assert run(ctx, "missing_autoscaler")[0] == []


def test_flat_load_leaves_nothing_for_an_autoscaler(ctx):
    diurnal_world(ctx, flat=True)  # static right-size to 1 node is overprovisioned_node_pool's finding
    assert run(ctx, "missing_autoscaler")[0] == []


def test_scale_down_disabled_is_flagged_even_with_an_autoscaler(ctx):
    diurnal_world(ctx, annotations={"cluster-autoscaler.kubernetes.io/scale-down-disabled": "true"})
    insert(ctx, "workloads", cluster="c1", namespace="kube-system", kind="Deployment", name="cluster-autoscaler")
    (f,), _ = run(ctx, "missing_autoscaler")
    assert f.evidence.figures["scale_down_disabled"] is True
    assert any("scale-down-disabled" in c.field for c in f.changes)
