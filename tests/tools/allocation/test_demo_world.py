"""The demo world: the engine agrees with the reference, reconciles, and matches the
generator's own ledger (ground_truth.json) per cluster."""

from __future__ import annotations


import pytest

from tests.tools.allocation.test_oracle import assert_engine_matches_reference
from tools.allocation.query import AllocateInput, allocate_window
from tools.allocation.reconcile import reconcile

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_ctx):
    ctx, truth, _ = demo_ctx
    return ctx, truth


def test_engine_matches_reference_on_the_demo_world(demo):
    ctx, _ = demo
    assert_engine_matches_reference(ctx)


def test_demo_reconciles_to_the_generators_ledger(demo):
    ctx, truth = demo
    rec = reconcile(ctx, "all")
    assert rec.status == "ok" and rec.ok
    assert all(abs(line.difference) < 0.01 for line in rec.lines)
    assert rec.billed_total == pytest.approx(truth["effective_total"], abs=0.01)
    assert rec.allocated_total == pytest.approx(truth["effective_total"], abs=0.01)
    by_cluster = allocate_window(ctx, AllocateInput(window="all", by="cluster"))
    rows = {r.key: r for r in by_cluster.rows}
    for cluster in truth["clusters"]:
        assert rows[cluster["cluster"]].cost == pytest.approx(cluster["effective_total"], abs=0.01)
        assert rows[cluster["cluster"]].pod_hours == pytest.approx(cluster["pod_hours"])
    external = sum(line.billed for line in rec.lines if line.cluster == "external")
    assert external == pytest.approx(truth["effective_total"] - sum(c["effective_total"] for c in truth["clusters"]),
                                     abs=0.01)
