"""explain over the real allocation engine: rows add up to the change of the billed total."""

from __future__ import annotations

import pytest

from tests.tools.allocation.worlds import random_world
from tools.allocation import rebuild_allocation
from tools.explain import ExplainInput, explain_change

BASELINE = "2026-03-02T00:00..2026-03-02T04:00"
CURRENT = "2026-03-02T04:00..2026-03-02T08:00"


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("by", ["namespace", "workload"])
def test_random_worlds_reconcile(ctx, seed, by):
    random_world(ctx.db, seed, n_hours=8)
    rebuild_allocation(ctx)
    for cluster in ("c0", "c1"):
        out = explain_change(ctx, ExplainInput(cluster=cluster, current=CURRENT, baseline=BASELINE, by=by))
        assert out.status == "ok"
        for row in out.rows:
            assert sum(row.drivers.values()) == pytest.approx(row.delta, abs=1e-6)
        assert sum(r.delta for r in out.rows) == pytest.approx(out.total_delta, abs=1e-6)
        # the billed change of the cluster, read independently from billing_attribution
        billed = ctx.db.execute(
            "SELECT sum(effective_cost) FILTER (WHERE hour >= '2026-03-02 04:00') - "
            "sum(effective_cost) FILTER (WHERE hour < '2026-03-02 04:00') FROM billing_attribution "
            "WHERE cluster = ? AND hour >= '2026-03-02' AND hour < '2026-03-02 08:00'", [cluster]).fetchone()[0]
        assert out.billed_delta == pytest.approx(billed, abs=1e-6)
        assert out.total_delta == pytest.approx(billed, abs=0.01)
