"""The headline question on the demo world: which namespaces explain GKE's increase this week?

Expected figures come from the demo's planted ground truth (ground_truth.json), which the
world generator computes from the node prices it wrote into the bill.
"""

from __future__ import annotations


import pytest

from tools.explain import ExplainInput, explain_change
from tools.node_pool_breakdown import NodePoolInput, node_pool_breakdown

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_ctx):
    ctx, truth, _ = demo_ctx
    return ctx, truth


def test_ai_evals_drives_the_gke_increase(demo):
    ctx, truth = demo
    expected = truth["explain"]
    out = explain_change(ctx, ExplainInput(cluster=expected["cluster"], current="this-week",
                                           baseline="previous-week", by="namespace"))
    assert out.status == "ok"
    assert (out.current.start, out.current.end) == (expected["current"]["start"], expected["current"]["end"])
    assert (out.baseline.start, out.baseline.end) == (expected["baseline"]["start"], expected["baseline"]["end"])
    assert out.total_delta == pytest.approx(expected["total_delta"], abs=0.01)
    assert sum(r.delta for r in out.rows) == pytest.approx(out.total_delta, abs=1e-6)
    for row in out.rows:
        assert sum(row.drivers.values()) == pytest.approx(row.delta, abs=1e-6)

    top = out.rows[0]
    assert top.key == "ai-evals"
    assert abs(top.share_of_increase - expected["ai_evals_share_pct"]) <= 0.5
    assert top.delta == pytest.approx(expected["ai_evals_delta"], abs=0.01)
    assert out.headline.startswith(f"ai-evals namespace drove {expected['ai_evals_share_pct']:.0f}% of this week's "
                                   f"GKE increase")
    # evidence: the GPU node pool, the Job parallelism change and the owner label
    evidence = expected["evidence"]
    pools = {p.node_pool: p for p in top.node_pools}
    assert pools[evidence["node_pool"]].gpu and top.node_pools[0].node_pool == evidence["node_pool"]
    before, after = (v.strip() for v in evidence["parallelism"].split("->"))
    job_ns, job_name = evidence["job"].split("/")
    assert any(c.field == "parallelism" and c.name == job_name and c.namespace == job_ns
               and (c.from_value, c.to_value) == (before, after) for c in top.changes)
    assert any(c.kind == "ReplicaSet" and c.timestamp.isoformat() == evidence["deploy_at"] for c in top.changes)
    assert top.owner == evidence["owner"] and top.team == evidence["team"]
    assert set(top.main_drivers) <= {"gpu_hours", "pod_hours"} and "gpu_hours" in top.main_drivers


def test_by_workload_and_node_pool_spike(demo):
    ctx, truth = demo
    expected = truth["explain"]
    out = explain_change(ctx, ExplainInput(cluster=expected["cluster"], by="workload"))
    job_ns, job_name = expected["evidence"]["job"].split("/")
    top = out.rows[0]
    # a Job without a CronJob is grouped by its workload_type label (DESIGN.md rule 8)
    assert top.key.startswith(f"{job_ns}/Job/")
    assert top.delta == pytest.approx(expected["ai_evals_delta"], abs=0.01)
    assert any(c.field == "parallelism" and c.name == job_name for c in top.changes)
    pools = node_pool_breakdown(ctx, NodePoolInput(cluster=expected["cluster"]))
    assert pools.pools[0].node_pool == expected["evidence"]["node_pool"] and pools.pools[0].spike
    assert [p.node_pool for p in pools.pools if p.spike] == [expected["evidence"]["node_pool"]]
