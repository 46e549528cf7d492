"""log_volume_growth: observability cost per namespace and its week-over-week growth."""

import pytest

from tests.tools.detectors.world import GIB, HOURS, alloc, insert_many, node, run

SECOND_WEEK = HOURS[168]


def log_world(ctx, per_day_prev, per_day_cur, ns_cost=True):
    node(ctx, "n1", "general")
    insert_many(ctx, "namespace_log_hours", [
        dict(cluster="c1", hour=h, namespace="checkout",
             log_bytes=(per_day_cur if h >= SECOND_WEEK else per_day_prev) * GIB / 24) for h in HOURS])
    if ns_cost:  # allocation priced logs by volume: $0.01 an hour per 3 GiB a day
        alloc(ctx, namespace="checkout", workload="checkout-api", cpu_cost=0.1, cpu_hours=1.0, pod_hours=1.0,
              observability_cost=lambda h: (per_day_cur if h >= SECOND_WEEK else per_day_prev) / 300)
    else:  # allocation kept logging shared: $0.04 an hour for the cluster
        alloc(ctx, namespace="checkout", workload="checkout-api", cpu_cost=0.1, cpu_hours=1.0, pod_hours=1.0)
        alloc(ctx, namespace="", kind="", workload="__shared__:observability", bucket="shared", pool="",
              observability_cost=0.04)


def test_sixfold_log_jump(ctx):
    log_world(ctx, 3.0, 18.0)
    (f,), _ = run(ctx, "log_volume_growth")
    assert (f.object.kind, f.object.name) == ("Namespace", "checkout")
    assert f.evidence.figures["previous_week_gib"] == pytest.approx(21.0)
    assert f.evidence.figures["current_week_gib"] == pytest.approx(126.0)
    assert f.evidence.figures["growth_share"] == pytest.approx(5.0)
    # this week $0.06 an hour, last week $0.01 an hour: $0.05 x 730
    assert f.monthly_savings == pytest.approx(0.05 * 730)


def test_flat_log_volume_is_not_flagged(ctx):
    log_world(ctx, 3.0, 3.0)
    assert run(ctx, "log_volume_growth")[0] == []


def test_one_week_window_compares_with_the_week_before_it(ctx):
    log_world(ctx, 3.0, 18.0)
    (f,), _ = run(ctx, "log_volume_growth", window="7d")
    assert f.evidence.figures["previous_week_gib"] == pytest.approx(21.0)


def test_no_previous_week_in_the_data_is_not_judged(ctx):
    log_world(ctx, 3.0, 18.0)
    ctx.db.execute("DELETE FROM namespace_log_hours WHERE hour < ?", [SECOND_WEEK])
    assert run(ctx, "log_volume_growth")[0] == []


def test_shared_logging_cost_is_priced_per_byte(ctx):
    log_world(ctx, 3.0, 18.0, ns_cost=False)
    (f,), _ = run(ctx, "log_volume_growth")
    # cluster: $0.04 x 336 h = $13.44 for the two weeks' 147 GiB of logs; growth 126 - 21 = 105 GiB
    per_gib = 0.04 * 336 / 147
    assert f.monthly_savings == pytest.approx(round(105 * per_gib / 168 * 730, 2))
    assert any("cluster $/byte" in item for item in f.lacked)
