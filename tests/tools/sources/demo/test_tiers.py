"""Benchmark tiers reuse the generator: sizes as issue 6 asks, Job churn, bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest

from tools.sources.demo.estate import build_world
from tools.sources.demo.generate import generate_world
from tools.sources.demo.pods import iter_jobs
from tools.sources.demo.spec import WorldSpec


def test_tier_m_is_a_thousand_nodes_and_thirty_thousand_pods():
    world = build_world(WorldSpec.preset("M"))
    assert 990 <= len(world.nodes) <= 1010
    hours = world.spec.hours
    deployment_pods = sum(w.replicas for w in world.workloads if w.kind == "Deployment")
    # a bulk CronJob run: 3 pods for 2 hours every 3 hours -> 2 concurrent pods on average
    job_pods = sum(w.job.parallelism * w.job.duration_h / w.job.period_h for w in world.workloads
                   if w.kind == "CronJob" and w.pool == "bulk")
    concurrent = deployment_pods + job_pods
    assert 27_000 <= concurrent <= 33_000
    assert 9e6 <= concurrent * hours <= 11e6                      # about 10M pod-hours
    cron = next(w for w in world.workloads if w.kind == "CronJob" and w.pool == "bulk")
    assert len(list(iter_jobs(world, cron, hours))) == hours // 3    # Job churn: a new Job every 3 hours


def test_tier_l_is_about_a_hundred_million_pod_hours():
    world = build_world(WorldSpec.preset("L"))
    per_hour = sum(w.replicas for w in world.workloads if w.kind == "Deployment") + sum(
        w.job.parallelism * w.job.duration_h / w.job.period_h for w in world.workloads
        if w.kind == "CronJob" and w.pool == "bulk")
    assert 90e6 <= per_hour * world.spec.hours <= 110e6


@pytest.mark.slow
def test_a_bulk_world_streams_in_bounded_memory(tmp_path):
    small = WorldSpec(name="bulk-small", days=2, bulk_nodes_per_cluster=3)
    big = WorldSpec(name="bulk-big", days=2, bulk_nodes_per_cluster=12)
    peaks = []
    for spec in (small, big):
        tracemalloc.start()
        files = generate_world(tmp_path / spec.name, spec)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert files.ground_truth.clusters[0].pod_hours > 0
    sizes = [sum(p.stat().st_size for p in (tmp_path / s.name / "metrics").iterdir()) for s in (small, big)]
    assert sizes[1] > 2.5 * sizes[0]              # four times the bulk nodes, much more data ...
    assert peaks[1] < 1.5 * peaks[0] + 8 * 2**20  # ... in about the same memory
