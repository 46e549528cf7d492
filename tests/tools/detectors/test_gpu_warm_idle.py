"""gpu_warm_idle: GPU node-hours against hours with GPU activity (DCGM, else requests)."""

import pytest

from tests.tools.detectors.world import HOURS, alloc, insert_many, node, pod, run


def gpu_pool(ctx):
    """2 GPU nodes; the pool's compute costs $2.40 an hour = $1.20 per node-hour."""
    for n in ("g1", "g2"):
        node(ctx, n, "gpu", cpu=8, mem_gib=32, gpu=1.0, instance_type="g5.2xlarge")
    alloc(ctx, namespace="ml", workload="ranker", pool="gpu", cpu_cost=0.4, gpu_cost=2.0, cpu_hours=2.0,
          gpu_hours=2.0, pod_hours=2.0)


def dcgm(ctx, activity):
    insert_many(ctx, "node_gpu_hours", [dict(cluster="c1", hour=h, node=n, gpu="0", active=activity(h),
                                             source_metric="DCGM_FI_PROF_GR_ENGINE_ACTIVE")
                                        for n in ("g1", "g2") for h in HOURS])


def test_pool_busy_two_hours_a_day_is_flagged(ctx):
    gpu_pool(ctx)
    dcgm(ctx, lambda h: 0.7 if h.hour in (14, 15) else 0.0)
    (f,), _ = run(ctx, "gpu_warm_idle")
    assert (f.object.kind, f.object.name) == ("NodePool", "gpu")
    figures = f.evidence.figures
    assert (figures["gpu_node_hours"], figures["busy_node_hours"]) == (672, 56)
    assert figures["activity_source"] == "DCGM"
    # 616 idle node-hours x $1.20 / 336 h x 730
    assert f.monthly_savings == pytest.approx(616 * 1.2 / 336 * 730)
    assert f.confidence == "high"


def test_busy_pool_is_not_flagged(ctx):
    gpu_pool(ctx)
    dcgm(ctx, lambda h: 0.8)
    assert run(ctx, "gpu_warm_idle")[0] == []


def test_without_dcgm_requests_are_used_and_said(ctx):
    gpu_pool(ctx)
    pod(ctx, "job-0", namespace="ml", node="g1", workload="ranker", gpu_request=1.0,
        hours=[h for h in HOURS if h.hour < 2])
    (f,), _ = run(ctx, "gpu_warm_idle")
    assert f.evidence.figures["busy_node_hours"] == 28  # 2 hours a day on one node for 14 days
    assert f.evidence.figures["activity_source"] == "GPU requests"
    assert any("DCGM" in item for item in f.lacked) and f.confidence == "medium"
    assert f.monthly_savings == pytest.approx(644 * 1.2 / 336 * 730)
