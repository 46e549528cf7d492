"""idle_replicas: near-zero CPU and no traffic for days; replicas above what the HPA ever wanted."""

import pytest

from tests.tools.detectors.world import HOURS, alloc, insert, insert_many, node, pod, run


def idle_world(ctx, cpu=0.001, tx=1000.0, replicas=2):
    node(ctx, "n1", "general")
    for i in range(replicas):
        pod(ctx, f"old-{i}", workload="old-api", cpu_request=0.5, cpu_usage=cpu, mem_usage=2e8, network_tx=tx)
    alloc(ctx, workload="old-api", cpu_cost=0.04, memory_cost=0.01, cpu_hours=1.0, mem_gib_hours=2.0, pod_hours=2.0)


def test_idle_deployment_is_flagged_with_its_whole_cost(ctx):
    idle_world(ctx)
    (f,), _ = run(ctx, "idle_replicas")
    assert (f.object.kind, f.object.name) == ("Deployment", "old-api")
    assert f.changes[0].field == "spec.replicas" and f.changes[0].recommended == 0
    assert f.evidence.figures["avg_replicas"] == 2
    assert f.monthly_savings == pytest.approx(0.05 * 730)  # $0.05 an hour x 730
    assert f.confidence == "high" and f.lacked == []


def test_busy_deployment_is_not_flagged(ctx):
    idle_world(ctx, cpu=0.2)
    assert run(ctx, "idle_replicas")[0] == []


def test_traffic_means_not_idle(ctx):
    idle_world(ctx, tx=50e6)
    assert run(ctx, "idle_replicas")[0] == []


def test_without_network_metric_confidence_is_low_and_said(ctx):
    idle_world(ctx, tx=None)
    (f,), _ = run(ctx, "idle_replicas")
    assert f.confidence == "low"
    assert any("network" in item for item in f.lacked)


def test_idle_for_less_than_the_threshold_is_not_flagged(ctx):
    # busy until two days before the end: idle for 2 days < idle_days (3)
    idle_world(ctx, cpu=lambda i: 0.3 if i < len(HOURS) - 48 else 0.001)
    assert run(ctx, "idle_replicas")[0] == []


def test_replicas_above_what_the_hpa_ever_desired(ctx):
    node(ctx, "n1", "general", cpu=16)
    for i in range(4):
        pod(ctx, f"api-{i}", workload="api", cpu_usage=0.5, network_tx=1e7)
    alloc(ctx, workload="api", cpu_cost=0.3, memory_cost=0.1, cpu_hours=4.0, mem_gib_hours=4.0, pod_hours=4.0)
    insert(ctx, "hpas", cluster="c1", namespace="shop", hpa="api", target_kind="Deployment", target_name="api",
           min_replicas=1, max_replicas=6, metric_resources=["cpu"])
    insert_many(ctx, "workload_spec_hours", [dict(cluster="c1", hour=h, namespace="shop", kind="Deployment",
                                                  name="api", field="hpa_desired", value="2") for h in HOURS])
    (f,), _ = run(ctx, "idle_replicas")
    assert (f.changes[0].current, f.changes[0].recommended) == (4, 2)
    # 2 excess replicas x ($0.40 / 4 pod-hours) x 730
    assert f.monthly_savings == pytest.approx(2 * 0.1 * 730)
