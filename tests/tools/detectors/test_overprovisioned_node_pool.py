"""overprovisioned_node_pool: max(CPU, memory) requests / allocatable against profile targets."""

import pytest

from tests.tools.detectors.world import GIB, alloc, node, pod, run


def pool_world(ctx, cpu_requested, labels=None, gpu=0.0):
    """4 nodes x (4 cores, 16 GiB); compute cost $0.80 an hour on the pool = $0.20 per node-hour."""
    for i in range(4):
        node(ctx, f"n{i}", "general", labels=labels, gpu=gpu)
    per_pod = cpu_requested / 4
    for i in range(4):
        pod(ctx, f"p{i}", node=f"n{i}", workload=f"w{i}", cpu_request=per_pod, mem_request=1 * GIB,
            cpu_usage=per_pod, mem_usage=GIB)
    alloc(ctx, workload="w0", cpu_cost=0.18, memory_cost=0.02, cpu_hours=1.0, mem_gib_hours=1.0, pod_hours=1.0)
    alloc(ctx, namespace="", kind="", workload="__idle__", bucket="idle", cpu_cost=0.54, memory_cost=0.06)


def test_pool_an_eighth_requested_is_shrunk_to_one_node(ctx):
    pool_world(ctx, cpu_requested=2.0)  # 2 of 16 cores = 0.125; memory 4 of 64 GiB
    (f,), _ = run(ctx, "overprovisioned_node_pool")
    assert (f.object.kind, f.object.name) == ("NodePool", "general")
    assert f.evidence.figures["p95_utilization"] == 0.125
    assert f.thresholds["target"] == 0.65 and f.thresholds["profile"] == "prod"
    # ceil(4 x 0.125 / 0.65) = 1 node: 3 nodes x $0.20 x 730
    assert (f.changes[0].field, f.changes[0].recommended) == ("node_count", 1)
    assert f.monthly_savings == pytest.approx(3 * 0.2 * 730)


def test_pool_above_target_is_not_flagged(ctx):
    pool_world(ctx, cpu_requested=11.0)  # 0.6875 >= 0.65
    assert run(ctx, "overprovisioned_node_pool")[0] == []


def test_dev_profile_recommends_a_smaller_instance_when_no_node_can_go(ctx):
    ctx.settings.detectors.pool_profiles = {"c1/general": "dev"}
    pool_world(ctx, cpu_requested=12.0)  # 0.75 < 0.8; ceil(4 x 0.75 / 0.8) = 4: no node removed
    (f,), _ = run(ctx, "overprovisioned_node_pool")
    assert f.changes[0].field == "instance_type" and f.confidence == "low"
    # (1 - 0.75 / 0.8) x $0.20 x 4 nodes x 730
    assert f.monthly_savings == pytest.approx(round((1 - 0.75 / 0.8) * 0.8 * 730, 2))


def test_ha_profile_label_raises_no_flag_at_sixty_percent(ctx):
    pool_world(ctx, cpu_requested=9.6, labels={"allot.dev/profile": "ha"})  # 0.6 >= 0.5
    assert run(ctx, "overprovisioned_node_pool")[0] == []


def test_gpu_pools_are_left_to_gpu_warm_idle(ctx):
    pool_world(ctx, cpu_requested=2.0, gpu=1.0)
    assert run(ctx, "overprovisioned_node_pool")[0] == []
