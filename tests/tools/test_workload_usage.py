"""workload_usage on hand-made pod-hours; percentiles checked against the statistics module."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta

import pytest

from tests.tools.cost_worlds import CUR_HOUR, CURRENT, alloc, owner, pod_hour
from tools.errors import ToolRetry
from tools.workload_usage import UsageInput, workload_usage

GIB = 2**30


@pytest.fixture
def world(ctx):
    h1, h2 = CUR_HOUR, CUR_HOUR + timedelta(hours=1)
    for pod, usage in (("a", 0.2), ("b", 0.4), ("c", 0.6)):
        pod_hour(ctx, h1, "shop", f"api-{pod}", cpu_usage=usage, memory_request=2 * GIB)
    pod_hour(ctx, h2, "shop", "api-a", fraction=0.5, cpu_usage=0.8, memory_request=2 * GIB)
    pod_hour(ctx, h1, "ml", "train-0", kind="Job", name="train", cpu_request=4, gpu_request=1, gpu_util=0.5,
             cpu_usage=3.0, memory_usage=10 * GIB)
    pod_hour(ctx, h2, "ml", "train-0", kind="Job", name="train", cpu_request=4, gpu_request=1, gpu_util=None,
             cpu_usage=3.5, memory_usage=12 * GIB)
    alloc(ctx, h1, "shop", "api", cpu_cost=10.0)
    alloc(ctx, h2, "shop", "api", cpu_cost=2.5)
    owner(ctx, "shop", "Deployment", "api", "web", "storefront")
    return ctx


def inclusive(values, q):
    """Linear-interpolation quantile, independent of DuckDB."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[int(q * 100) - 1]


def test_by_workload(world):
    out = workload_usage(world, UsageInput(cluster="gke", window=CURRENT, by="workload"))
    assert out.status == "ok"
    rows = {r.key: r for r in out.rows}
    api = rows["shop/Deployment/api"]
    assert api.pod_hours == pytest.approx(3.5)
    assert (api.replicas_avg, api.replicas_max, api.active_hours) == (pytest.approx(1.75), 3, 2)
    usage = [0.2, 0.4, 0.6, 0.8]
    assert api.cpu.usage_p50 == pytest.approx(inclusive(usage, 0.5))
    assert api.cpu.usage_p95 == pytest.approx(inclusive(usage, 0.95))
    assert api.cpu.usage_max == pytest.approx(0.8)
    assert (api.cpu.request_p50, api.cpu.request_max, api.cpu.measured_share) == (1.0, 1.0, 1.0)
    assert api.memory.request_p95 == pytest.approx(2.0)
    assert api.memory.usage_p50 is None and api.memory.measured_share == 0.0
    assert "unknown" in api.memory.note
    assert api.gpu is None
    assert api.allocated_cost == pytest.approx(12.5)
    assert (api.owner, api.team, api.owner_labels["team"]) == ("web", "storefront", "storefront")

    train = rows["ml/Job/train"]
    assert train.gpu.request_max == 1.0 and train.gpu.usage_p50 == pytest.approx(0.5)
    assert train.gpu.measured_share == pytest.approx(0.5) and "1 of 2" in train.gpu.note
    assert train.memory.usage_max == pytest.approx(12.0)
    assert train.allocated_cost is None and train.owner is None   # not allocated: unknown, not $0


def test_by_namespace_and_filters(world):
    out = workload_usage(world, UsageInput(cluster="gke", window=CURRENT, namespace="shop"))
    assert [r.key for r in out.rows] == ["shop"]
    assert out.rows[0].owners == ["web"] and out.rows[0].allocated_cost == pytest.approx(12.5)
    out = workload_usage(world, UsageInput(cluster="gke", window=CURRENT, namespace="payments"))
    assert out.status == "no_data" and "payments" in out.reason and out.rows == []
    with pytest.raises(ToolRetry):
        workload_usage(world, UsageInput(cluster="eks", window=CURRENT))
