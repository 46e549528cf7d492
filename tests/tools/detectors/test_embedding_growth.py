"""embedding_growth: volume growth per namespace and its monthly cost trend."""

import pytest

from tests.tools.detectors.world import GIB, HOURS, alloc, insert_many, node, run


def volume_world(ctx, used_gib, ns="embeddings", capacity_gib=800.0, hours=HOURS):
    node(ctx, "n1", "general")
    # $0.20 an hour of storage on 800 GiB provisioned -> $0.00025 per GiB-hour
    alloc(ctx, namespace=ns, kind="StatefulSet", workload="vector-index", storage_cost=0.2, cpu_cost=0.1,
          cpu_hours=1.0, pod_hours=1.0)
    insert_many(ctx, "volume_hours", [dict(cluster="c1", hour=h, namespace=ns, pvc="data-vector-index-0",
                                           used_bytes=used_gib(i) * GIB, capacity_bytes=capacity_gib * GIB)
                                      for i, h in enumerate(hours)])


def test_volume_growing_15_gib_a_day(ctx):
    volume_world(ctx, lambda i: 300 + 15 * i / 24)
    (f,), _ = run(ctx, "embedding_growth")
    assert (f.object.kind, f.object.name) == ("Namespace", "embeddings")
    assert f.evidence.figures["fastest_pvc"] == "data-vector-index-0"
    assert f.evidence.figures["gib_per_week"] == pytest.approx(105.0)
    assert f.evidence.figures["storage_price_per_gib_hour"] == pytest.approx(0.00025)
    # 15/24 GiB an hour x 730 h = 456.25 GiB a month x $0.00025 x 730
    assert f.monthly_savings == pytest.approx(83.27)


def test_stable_database_is_not_flagged(ctx):
    volume_world(ctx, lambda i: 58 + 0.002 * i, ns="orders")
    assert run(ctx, "embedding_growth")[0] == []


def test_large_volume_growing_a_little_is_not_flagged(ctx):
    # 6 GiB a week on a 10 TiB volume: above the GiB floor, far below 10% a week
    volume_world(ctx, lambda i: 10240 + 6 * i / 168, capacity_gib=12000)
    assert run(ctx, "embedding_growth")[0] == []


def test_less_than_a_day_of_volume_stats_is_not_judged(ctx):
    volume_world(ctx, lambda i: 300 + 15 * i, hours=HOURS[-12:])
    assert run(ctx, "embedding_growth")[0] == []
