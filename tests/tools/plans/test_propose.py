"""propose_plans on a hand-made two-week world: a raised value is restored, an unowned workload
gets an assign-owner plan instead of a guessed reviewer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.tools.cost_worlds import BASE_HOUR, alloc, owner
from tools.plans.propose import ProposeInput, propose_plans

BASELINE = "2026-11-14..2026-11-21"
CURRENT = "2026-11-21..2026-11-28"


@pytest.fixture
def world(ctx):
    """Hourly, 2026-11-14 .. 2026-11-28. web/Deployment/api (owner web-team): 1.00/h, replicas 2 -> 4 on
    2026-11-22 00:00 and 2.00/h from then. batch/Job/crunch (no owner anywhere): 1.00/h, parallelism 2 -> 6
    on 2026-11-22 00:00 and 3.00/h from then."""
    start = BASE_HOUR - timedelta(days=1)  # 2026-11-14 00:00
    change_at = start + timedelta(days=8)  # 2026-11-22 00:00
    ctx.db.execute("INSERT INTO clusters VALUES ('gke', 'gcp', 'us-central1', 'p')")
    owner(ctx, "web", "Deployment", "api", "web-team", "web")
    ctx.db.execute("INSERT INTO workload_owners (cluster, namespace, workload_kind, workload_name, owner, owner_source) "
                   "VALUES ('gke', 'batch', 'Job', 'crunch', 'unowned', 'none')")
    for h in range(14 * 24):
        hour = start + timedelta(hours=h)
        after = hour >= change_at
        for ns, name, kind, cost, pods in (("web", "api", "Deployment", 2.0 if after else 1.0, 4 if after else 2),
                                           ("batch", "crunch", "Job", 3.0 if after else 1.0, 6 if after else 2)):
            alloc(ctx, hour, ns, name, kind=kind, cpu_cost=cost, pod_hours=pods, cpu_req=pods, cpu_chg=pods)
        for ns, kind, name, field, value in (("web", "Deployment", "api", "replicas", "4" if after else "2"),
                                             ("batch", "Job", "crunch", "parallelism", "6" if after else "2")):
            ctx.db.execute("INSERT INTO workload_spec_hours VALUES ('gke', ?, ?, ?, ?, ?, ?)",
                           [hour, ns, kind, name, field, value])
    return ctx


def test_raised_values_are_restored_and_unowned_gets_assign_owner(world):
    out = propose_plans(world, ProposeInput(cluster="gke", window=CURRENT, baseline=BASELINE, waste_window=CURRENT))
    assert out.status == "ok"
    by_object = {(p.action.object.kind, p.action.object.name): p for p in out.plans}

    api = by_object[("Deployment", "api")]
    assert api.plan_kind == "optimize" and api.reviewer.name == "web-team"
    assert [(c.field, c.from_value, c.to_value) for c in api.action.changes] == [("replicas", "4", "2")]
    assert [(c.field, c.from_value, c.to_value) for c in api.rollback.changes] == [("replicas", "2", "4")]
    # increase between the windows: 6 days x 24 h x +1.00 = 144.00 over 168 h, x 730 h a month
    assert api.monthly_savings == pytest.approx(round(144.0 / 168 * 730, 2))
    assert api.finding.startswith("web namespace drove")

    crunch = by_object[("Job", "crunch")]
    assert crunch.plan_kind == "assign_owner" and crunch.monthly_savings is None
    assert crunch.reviewer.source == "fallback" and crunch.reviewer.name == "platform owner of cluster gke"
    assert crunch.action.changes[0].field == "owner_label"
    assert crunch.patch[0].command.endswith("label job/crunch owner=<owner> --overwrite")
    assert any(e.tool == "explain_change" for e in crunch.evidence)
    assert out.plans[-1].plan_id == crunch.plan_id  # assign-owner plans rank after priced ones
