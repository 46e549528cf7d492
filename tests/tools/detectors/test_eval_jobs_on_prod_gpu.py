"""eval_jobs_on_prod_gpu: eval workloads on on-demand / prod GPU pools or outside their window."""

import pytest

from tests.tools.detectors.world import alloc, node, owner, run


def eval_world(ctx, pool="gpu-l4", capacity="on-demand", workload_type="eval", name="eval-harness"):
    for n in ("g1", "g2"):
        node(ctx, f"{pool}-{n}", pool, gpu=1.0, capacity_type=capacity)
    # $1.20 GPU cost an hour for 2 GPU-hours on the pool
    alloc(ctx, namespace="ai-evals", kind="Job", workload=name, pool=pool, gpu_cost=1.2, gpu_hours=2.0, pod_hours=2.0)
    owner(ctx, namespace="ai-evals", kind="Job", workload=name, owner="ml-research", team="ml-research",
          workload_type=workload_type)


def test_eval_job_on_on_demand_gpu_pool_without_a_spot_pool(ctx):
    eval_world(ctx)
    (f,), _ = run(ctx, "eval_jobs_on_prod_gpu")
    assert (f.object.namespace, f.object.name) == ("ai-evals", "eval-harness")
    assert f.owner.owner == "ml-research"
    assert f.evidence.figures["node_pools"] == "gpu-l4"
    # $1.20 an hour x 60% (spot_savings_share) x 730, low confidence: nothing to price spot from
    assert f.monthly_savings == pytest.approx(1.2 * 0.6 * 730)
    assert f.confidence == "low"


def test_spot_gpu_pool_in_the_cluster_prices_the_move(ctx):
    eval_world(ctx)
    node(ctx, "s1", "gpu-spot", gpu=1.0, capacity_type="spot")
    alloc(ctx, namespace="", kind="", workload="__idle__", bucket="idle", pool="gpu-spot", gpu_cost=0.3)
    (f,), _ = run(ctx, "eval_jobs_on_prod_gpu")
    # on-demand pool: $1.20 / 2 GPUs = $0.60 per GPU-hour; spot: $0.30 -> half the GPU cost saved
    assert f.monthly_savings == pytest.approx(1.2 * 0.5 * 730)
    assert f.confidence == "high"


def test_eval_on_spot_pool_is_fine(ctx):
    eval_world(ctx, pool="gpu-spot", capacity="spot")
    assert run(ctx, "eval_jobs_on_prod_gpu")[0] == []


def test_non_eval_gpu_workload_is_not_flagged(ctx):
    eval_world(ctx, workload_type="inference", name="ranker")
    ctx.db.execute("UPDATE allocation_hours SET namespace = 'ml-inference'")
    ctx.db.execute("UPDATE workload_owners SET namespace = 'ml-inference'")
    assert run(ctx, "eval_jobs_on_prod_gpu")[0] == []


def test_spot_eval_outside_its_schedule_window(ctx):
    ctx.settings.detectors.eval_schedule_hours = list(range(0, 6))
    eval_world(ctx, pool="gpu-spot", capacity="spot")
    (f,), _ = run(ctx, "eval_jobs_on_prod_gpu")
    assert "outside the schedule window" in f.title
