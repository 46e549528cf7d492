"""over_requested: p95 CPU / max memory x 1.15, floors, 100 samples over 24 h, HPA skip."""

import pytest

from tests.tools.detectors.world import GIB, HOURS, MIB, alloc, insert, node, owner, pod, run

# Allocation prices: $0.04 per core-hour (0.08 for 2 cores), $0.005 per GiB-hour (0.02 for 4 GiB).
PRICED = dict(cpu_cost=0.08, memory_cost=0.02, cpu_hours=2.0, mem_gib_hours=4.0, pod_hours=1.0)


def world(ctx, cpu_usage, mem_usage, hours=HOURS):
    node(ctx, "n1", "general")
    pod(ctx, "web-1", cpu_request=2.0, mem_request=4 * GIB, cpu_usage=cpu_usage, mem_usage=mem_usage, hours=hours)
    alloc(ctx, **PRICED)
    owner(ctx)


def test_flags_a_container_using_a_tenth_of_its_request(ctx):
    world(ctx, cpu_usage=0.2, mem_usage=1 * GIB)
    findings, _ = run(ctx, "over_requested")
    assert len(findings) == 1
    f = findings[0]
    assert (f.object.namespace, f.object.kind, f.object.name) == ("shop", "Deployment", "web")
    assert f.owner.owner == "alice" and f.owner.team == "payments"
    changes = {c.field: (c.current, c.recommended) for c in f.changes}
    # cpu: 0.2 x 1.15 = 0.23 cores; memory: 1024 MiB x 1.15 = 1177.6 -> 1178 MiB
    assert changes["containers[app].resources.requests.cpu"] == (2.0, pytest.approx(0.23))
    assert changes["containers[app].resources.requests.memory"] == (4 * GIB, 1178 * MIB)
    # (2 - 0.23) x 0.04 x 730 + (4096 - 1178) / 1024 x 0.005 x 730 = 51.684 + 10.4011
    assert f.monthly_savings == pytest.approx(62.09, abs=0.005)
    assert f.confidence == "high"
    assert f.evidence.figures["app.cpu_samples"] == 336


def test_right_sized_container_is_not_flagged(ctx):
    world(ctx, cpu_usage=lambda i: 1.3 + 0.2 * (i % 2), mem_usage=3 * GIB)
    findings, _ = run(ctx, "over_requested")
    assert findings == []


def test_floors_apply_to_tiny_usage(ctx):
    world(ctx, cpu_usage=0.001, mem_usage=10 * MIB)
    (f,), _ = run(ctx, "over_requested")
    changes = {c.field: c.recommended for c in f.changes}
    assert changes["containers[app].resources.requests.cpu"] == 0.010
    assert changes["containers[app].resources.requests.memory"] == 100 * MIB
    # (2 - 0.01) x 0.04 x 730 + (4096 - 100) / 1024 x 0.005 x 730
    assert f.monthly_savings == pytest.approx(1.99 * 0.04 * 730 + 3996 / 1024 * 0.005 * 730, abs=0.005)


def test_too_few_samples_is_not_enough_data(ctx):
    # 6 replicas x 20 hours = 120 samples, but they span only 20 hours (< 24 h).
    node(ctx, "n1", "general")
    for i in range(6):
        pod(ctx, f"web-{i}", cpu_request=2.0, mem_request=4 * GIB, cpu_usage=0.2, mem_usage=GIB, hours=HOURS[:20])
    alloc(ctx, **PRICED)  # 14 days of allocation anchor the window
    findings, skipped = run(ctx, "over_requested")
    assert findings == []
    reasons = [s.reason for s in skipped]
    assert any("not enough data for cpu: 120 samples over 20 h" in r for r in reasons)


def test_no_usage_data_is_skipped_and_said(ctx):
    world(ctx, cpu_usage=None, mem_usage=None)
    findings, skipped = run(ctx, "over_requested")
    assert findings == []
    assert any("no cpu usage data" in s.reason for s in skipped)


def test_hpa_on_cpu_skips_cpu_and_names_the_hpa(ctx):
    world(ctx, cpu_usage=0.2, mem_usage=1 * GIB)
    insert(ctx, "hpas", cluster="c1", namespace="shop", hpa="web-hpa", target_kind="Deployment", target_name="web",
           min_replicas=1, max_replicas=5, metric_resources=["cpu"])
    (f,), skipped = run(ctx, "over_requested")
    assert [c.field for c in f.changes] == ["containers[app].resources.requests.memory"]
    assert f.monthly_savings == pytest.approx(2918 / 1024 * 0.005 * 730, abs=0.005)
    assert any("HPA web-hpa scales on cpu" in s.reason for s in skipped)
