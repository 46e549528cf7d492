"""node_pool_breakdown on a hand-made two-pool cluster where the GPU pool spikes."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.tools.cost_worlds import BASE_HOUR, BASELINE, CUR_HOUR, CURRENT, alloc, idle, node
from tools.errors import ToolRetry
from tools.node_pool_breakdown import NodePoolInput, node_pool_breakdown

MIG = "projects/p/zones/us-central1-a/instancegroups/mig-general"


def node_hours(ctx, name, hour, hours, gpus=0.0):
    for i in range(hours):
        ctx.db.execute("INSERT INTO node_hours VALUES ('gke', ?, ?, 8, 32e9, ?)", [name, hour + timedelta(hours=i), gpus])


def bill(ctx, rid, hour, hours, cost):
    for i in range(hours):
        ctx.db.execute("INSERT INTO billing_attribution (cluster, hour, kind, resource_id, billed_cost, effective_cost) "
                       "VALUES ('gke', ?, 'node', ?, ?, ?)", [hour + timedelta(hours=i), rid, cost, cost])


@pytest.fixture
def world(ctx):
    # general: two nodes behind one instance group (one billing row per hour, split evenly)
    node(ctx, "gen-1", "general", instance_id="mig-general")
    node(ctx, "gen-2", "general", instance_id="mig-general")
    node(ctx, "gpu-1", "gpu-a100", instance_type="a2-highgpu-1g", gpus=1, capacity="spot", instance_id="gpu-1")
    for hour in (BASE_HOUR, CUR_HOUR):
        node_hours(ctx, "gen-1", hour, 2)
        node_hours(ctx, "gen-2", hour, 2)
        bill(ctx, MIG, hour, 2, 4.0)
    node_hours(ctx, "gpu-1", BASE_HOUR, 1, gpus=1)
    node_hours(ctx, "gpu-1", CUR_HOUR, 3, gpus=1)
    bill(ctx, "projects/p/zones/us-central1-a/instances/gpu-1", BASE_HOUR, 1, 10.0)
    bill(ctx, "projects/p/zones/us-central1-a/instances/gpu-1", CUR_HOUR, 3, 10.0)
    ctx.db.execute(
        "INSERT INTO billing_rows (delivery_id, source_file, source_row, focus_version, charge_period_start, "
        "charge_period_end, billed_cost, effective_cost, billing_currency, resource_id, commitment_discount_id) "
        "VALUES ('d', 'f', 1, '1.0', '2026-11-15', '2026-11-16', 4, 4, 'USD', ?, 'cud-1'),"
        "('d', 'f', 2, '1.0', '2026-11-22', '2026-11-23', 4, 4, 'USD', ?, 'cud-1')", [MIG, MIG])
    # allocated cost per pool: general 20 (idle 5) -> 21 (idle 4); gpu 10 (idle 2) -> 40 (idle 10)
    alloc(ctx, BASE_HOUR, "shop", "api", pool="general", cpu_cost=15.0)
    idle(ctx, BASE_HOUR, "general", 5.0)
    alloc(ctx, CUR_HOUR, "shop", "api", pool="general", cpu_cost=17.0)
    idle(ctx, CUR_HOUR, "general", 4.0)
    alloc(ctx, BASE_HOUR, "ai-evals", "evals", pool="gpu-a100", gpu_cost=8.0)
    idle(ctx, BASE_HOUR, "gpu-a100", 2.0)
    alloc(ctx, CUR_HOUR, "ai-evals", "evals", pool="gpu-a100", gpu_cost=30.0)
    idle(ctx, CUR_HOUR, "gpu-a100", 10.0)
    raw = {"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "ca", "command": [
        "./cluster-autoscaler", "--nodes=0:8:gke-prod-gpu-a100-mig", "--nodes=1:5:other-pool"]}]}}}}
    ctx.db.execute("INSERT INTO k8s_objects (cluster, kind, namespace, name, raw, snapshot_at) VALUES "
                   "('gke', 'Deployment', 'kube-system', 'cluster-autoscaler', ?, '2026-11-28')", [json.dumps(raw)])
    return ctx


def test_gpu_pool_spike_stands_out(world):
    out = node_pool_breakdown(world, NodePoolInput(cluster="gke", current=CURRENT, baseline=BASELINE))
    assert out.status == "ok"
    gpu, general = out.pools
    assert gpu.node_pool == "gpu-a100" and gpu.spike and not general.spike
    assert (gpu.baseline_cost, gpu.current_cost, gpu.delta) == (10.0, 40.0, 30.0)
    assert gpu.delta_share == pytest.approx(100 * 30 / 31)
    assert general.delta == pytest.approx(1.0)
    assert out.total_delta == pytest.approx(31.0)
    assert gpu.baseline_idle_share == pytest.approx(20.0) and gpu.current_idle_share == pytest.approx(25.0)
    assert general.current_idle_share == pytest.approx(100 * 4 / 21)
    assert (gpu.baseline_gpu_node_hours, gpu.current_gpu_node_hours) == (1, 3) and gpu.gpu
    assert (general.baseline_gpu_node_hours, general.current_node_hours) == (0, 4) and not general.gpu
    assert (gpu.autoscaling_min, gpu.autoscaling_max) == (0, 8)
    assert general.autoscaling_source == "unknown" and general.autoscaling_max is None
    assert out.headline.startswith("node pool gpu-a100 carries 97% of the node-pool increase (+30.00, +300%)")


def test_groups_capacity_and_billed_cost(world):
    out = node_pool_breakdown(world, NodePoolInput(cluster="gke", current=CURRENT, baseline=BASELINE))
    gpu, general = out.pools
    [g] = general.groups
    # the instance group's billing row carries a commitment: committed; 2 hours x $4, split over 2 nodes
    assert (g.instance_type, g.region, g.capacity_type) == ("n2-standard-8", "us-central1", "committed")
    assert (g.baseline_node_hours, g.baseline_billed_cost, g.current_billed_cost) == (4, 8.0, 8.0)
    [s] = gpu.groups
    assert (s.capacity_type, s.baseline_billed_cost, s.current_billed_cost) == ("spot", 10.0, 30.0)


def test_no_data(world):
    with pytest.raises(ToolRetry):
        node_pool_breakdown(world, NodePoolInput(cluster="eks"))
    world.db.execute("DELETE FROM allocation_hours WHERE hour < '2026-11-21'")
    world.db.execute("INSERT INTO pod_hours (cluster, hour, namespace, pod, node, workload_kind, workload_name, "
                     "fraction, cpu_request, memory_request, gpu_request) VALUES "
                     "('gke', '2026-11-15', 'shop', 'p', 'gen-1', 'Deployment', 'api', 1, 1, 1, 0)")
    out = node_pool_breakdown(world, NodePoolInput(cluster="gke", current=CURRENT, baseline=BASELINE))
    assert out.status == "no_data" and "baseline" in out.reason and out.pools == []
