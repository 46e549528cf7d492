"""explain_change on hand-worked two-week worlds: every driver value is computed by hand.

Baseline = 2026-11-14..2026-11-21, current = 2026-11-21..2026-11-28; one allocation row per
unit and window is enough, because explain only sums rows inside each window.
"""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.tools.cost_worlds import BASE_HOUR, BASELINE, CUR_HOUR, CURRENT, LAST_HOUR, alloc, idle, node, owner
from tools.errors import InputError, ToolRetry
from tools.explain import ExplainInput, explain_change
from tools.explain_drivers import DRIVERS


def run(ctx, by="namespace", **kw):
    return explain_change(ctx, ExplainInput(cluster=kw.pop("cluster", "gke"), current=kw.pop("current", CURRENT),
                                            baseline=kw.pop("baseline", BASELINE), by=by, **kw))


def check_sums(out):
    """Drivers sum to each delta, deltas sum to the total, totals are current - baseline."""
    assert out.status == "ok"
    for row in out.rows:
        assert set(DRIVERS) <= set(row.drivers)
        assert sum(row.drivers.values()) == pytest.approx(row.delta, abs=1e-9)
        assert row.delta == pytest.approx(row.current_cost - row.baseline_cost, abs=1e-9)
    assert sum(r.delta for r in out.rows) == pytest.approx(out.total_delta, abs=1e-9)
    assert out.total_delta == pytest.approx(out.current_total - out.baseline_total, abs=1e-9)
    assert [r.delta for r in out.rows] == sorted((r.delta for r in out.rows), reverse=True)


def rows(out):
    return {r.key: r for r in out.rows}


def only(drivers, **expected):
    """All drivers are 0 except the expected ones."""
    for name in DRIVERS:
        assert drivers[name] == pytest.approx(expected.get(name, 0.0), abs=1e-9), name


def api(ctx, hour, pods, *, price=2.0, req_per_pod=1.0, above=0.0, mem_price=0.25, **kw):
    """shop/api: `pods` pod-hours, 1 core and 4 GiB requested per pod-hour."""
    cpu_req = pods * req_per_pod
    alloc(ctx, hour, "shop", "api", cpu_cost=price * (cpu_req + above), memory_cost=mem_price * 4 * pods,
          pod_hours=pods, cpu_req=cpu_req, cpu_chg=cpu_req + above, mem_req=4 * pods, mem_chg=4 * pods, **kw)


def test_replica_change_without_price_change(ctx):
    api(ctx, BASE_HOUR, 10)   # cpu 10 core-h x $2 = 20, memory 40 GiB-h x $0.25 = 10
    api(ctx, CUR_HOUR, 20)    # cpu 40, memory 20
    idle(ctx, BASE_HOUR, "general", 5.0, cpu_chg=2.5)
    idle(ctx, CUR_HOUR, "general", 5.0, cpu_chg=2.5)
    out = run(ctx)
    check_sums(out)
    r = rows(out)
    assert out.total_delta == pytest.approx(30.0)
    # cpu: p=2, dP=10, r=1 -> 20; memory: q=0.25, dP=10, 4 GiB per pod -> 10
    only(r["shop"].drivers, pod_hours=30.0)
    assert r["shop"].share_of_increase == pytest.approx(100.0)
    only(r["__idle__"].drivers)
    assert r["shop"].main_drivers == ["pod_hours"]


def test_price_change_without_usage_change(ctx):
    api(ctx, BASE_HOUR, 10, price=2.0)
    api(ctx, CUR_HOUR, 10, price=3.0)   # cpu 20 -> 30, memory unchanged
    idle(ctx, BASE_HOUR, "general", 5.0, cpu_chg=2.5)    # 2.5 idle core-hours at $2
    idle(ctx, CUR_HOUR, "general", 7.5, cpu_chg=2.5)     # ... at $3
    out = run(ctx)
    check_sums(out)
    r = rows(out)
    assert out.total_delta == pytest.approx(12.5)
    only(r["shop"].drivers, unit_price=10.0)            # dp=1 x 10 core-hours
    only(r["__idle__"].drivers, unit_price=2.5)         # dp=1 x 2.5 idle core-hours
    assert r["shop"].share_of_increase == pytest.approx(80.0)
    assert r["__idle__"].share_of_increase == pytest.approx(20.0)


def test_new_and_removed_workloads(ctx):
    api(ctx, BASE_HOUR, 10)
    api(ctx, CUR_HOUR, 10)
    alloc(ctx, BASE_HOUR, "legacy", "old", cpu_cost=15.0, pod_hours=5, cpu_req=5, cpu_chg=5, mem_req=0, mem_chg=0)
    alloc(ctx, CUR_HOUR, "ml", "train", kind="Job", pool="gpu", cpu_cost=10.0, gpu_cost=40.0, pod_hours=5,
          cpu_req=5, cpu_chg=5, mem_req=0, mem_chg=0, gpu_hours=10)
    alloc(ctx, CUR_HOUR, "shop", "worker", cpu_cost=6.0, pod_hours=3, cpu_req=3, cpu_chg=3, mem_req=0, mem_chg=0)
    out = run(ctx)
    check_sums(out)
    r = rows(out)
    assert out.total_delta == pytest.approx(50.0 - 15.0 + 6.0)
    only(r["ml"].drivers, new_or_removed=50.0)
    only(r["legacy"].drivers, new_or_removed=-15.0)
    only(r["shop"].drivers, new_or_removed=6.0)   # a new workload inside an existing namespace
    assert [x.key for x in out.rows] == ["ml", "shop", "legacy"]
    assert r["ml"].share_of_increase == pytest.approx(100 * 50 / 41)
    assert r["legacy"].baseline_cost == pytest.approx(15.0) and r["legacy"].current_cost == 0.0

    by_workload = rows(run(ctx, by="workload"))
    only(by_workload["shop/Deployment/worker"].drivers, new_or_removed=6.0)
    only(by_workload["shop/Deployment/api"].drivers)


def test_decrease_with_less_usage_above_requests(ctx):
    api(ctx, BASE_HOUR, 20, above=5.0)   # cpu 2 x 25 = 50, memory 0.25 x 80 = 20
    api(ctx, CUR_HOUR, 10)               # cpu 2 x 10 = 20, memory 10
    out = run(ctx)
    check_sums(out)
    assert out.total_delta == pytest.approx(-40.0)
    # cpu: pod_hours 2 x -10 x 1 = -20, above 2 x (0 - 5) = -10; memory: 0.25 x -10 x 4 = -10
    only(rows(out)["shop"].drivers, pod_hours=-30.0, usage_above_requests=-10.0)
    assert out.headline.startswith("shop namespace drove 100% of ")
    assert "decrease" in out.headline


def test_idle_absorbs_growth(ctx):
    api(ctx, BASE_HOUR, 10, mem_price=0.0)   # cpu 20
    api(ctx, CUR_HOUR, 20, mem_price=0.0)    # cpu 40
    idle(ctx, BASE_HOUR, "general", 30.0, cpu_chg=15)   # the same nodes: 25 core-hours at $2
    idle(ctx, CUR_HOUR, "general", 10.0, cpu_chg=5)
    alloc(ctx, BASE_HOUR, "", "__shared__:control-plane", bucket="shared", kind="", pool="", other_cost=5.0)
    alloc(ctx, CUR_HOUR, "", "__shared__:control-plane", bucket="shared", kind="", pool="", other_cost=7.0)
    for hour, amount in ((BASE_HOUR, 55.0), (CUR_HOUR, 57.0)):
        ctx.db.execute("INSERT INTO billing_attribution (cluster, hour, kind, billed_cost, effective_cost) "
                       "VALUES ('gke', ?, 'node', ?, ?)", [hour, amount, amount])
    out = run(ctx)
    check_sums(out)
    r = rows(out)
    assert out.total_delta == pytest.approx(2.0)
    assert out.billed_delta == pytest.approx(2.0)
    assert not out.caveats
    only(r["shop"].drivers, pod_hours=20.0)
    only(r["__idle__"].drivers, idle_capacity=-20.0)   # $2 x (5 - 15) idle core-hours
    only(r["__shared__:control-plane"].drivers, other=2.0)
    assert r["shop"].share_of_increase == pytest.approx(1000.0)
    assert r["__idle__"].share_of_increase == pytest.approx(-1000.0)
    assert [p.node_pool for p in r["__idle__"].node_pools] == ["general"]
    assert r["__idle__"].node_pools[0].delta == pytest.approx(-20.0)


def test_shapley_split_of_pods_requests_price_and_gpu(ctx):
    # cpu: P 10 -> 20, request per pod 1 -> 1.5, price 2 -> 3: 20 -> 90
    # gpu: 10 -> 20 GPU-hours, price 3 -> 4: 30 -> 80; storage 3 -> 5
    alloc(ctx, BASE_HOUR, "ml", "train", kind="Job", cpu_cost=20.0, gpu_cost=30.0, storage_cost=3.0,
          pod_hours=10, cpu_req=10, cpu_chg=10, mem_req=0, mem_chg=0, gpu_hours=10)
    alloc(ctx, CUR_HOUR, "ml", "train", kind="Job", cpu_cost=90.0, gpu_cost=80.0, storage_cost=5.0,
          pod_hours=20, cpu_req=30, cpu_chg=30, mem_req=0, mem_chg=0, gpu_hours=20)
    out = run(ctx, by="workload")
    check_sums(out)
    # unit_price = cpu 1 x 20 + gpu 1 x 15 = 35; pod_hours = 2.5 x 10 x 1.25 = 31.25;
    # requests = 2.5 x 15 x 0.5 = 18.75; gpu_hours = 3.5 x 10 = 35; other = storage 2
    only(rows(out)["ml/Job/train"].drivers, unit_price=35.0, pod_hours=31.25, requests=18.75, gpu_hours=35.0,
         other=2.0)
    assert rows(out)["ml/Job/train"].other_detail == {"storage": pytest.approx(2.0)}


def test_missing_quantities_go_to_other(ctx):
    alloc(ctx, BASE_HOUR, "shop", "api", cpu_cost=10.0)   # no quantities recorded
    alloc(ctx, CUR_HOUR, "shop", "api", cpu_cost=14.0)
    out = run(ctx)
    check_sums(out)
    only(rows(out)["shop"].drivers, other=4.0)


def test_estimated_rows_are_left_out_with_a_caveat(ctx):
    api(ctx, BASE_HOUR, 10)
    api(ctx, CUR_HOUR, 10)
    alloc(ctx, CUR_HOUR, "shop", "api", cpu_cost=100.0, pod_hours=1, cpu_req=1, cpu_chg=1, estimated=True)
    out = run(ctx)
    assert out.total_delta == pytest.approx(0.0)
    assert any("price table" in c for c in out.caveats)
    assert run(ctx, include_estimated=True).total_delta == pytest.approx(100.0)


def test_evidence_gpu_pool_parallelism_and_owner(ctx):
    ctx.db.execute("INSERT INTO clusters (cluster, provider) VALUES ('gke', 'gcp')")
    node(ctx, "gpu-1", "gpu-a100", instance_type="a2-highgpu-1g", gpus=1)
    node(ctx, "gen-1", "general")
    api(ctx, BASE_HOUR, 10)
    api(ctx, LAST_HOUR, 10)
    for hour, pods in ((BASE_HOUR, 2), (CUR_HOUR, 4)):
        alloc(ctx, hour, "ai-evals", "nightly-evals", kind="CronJob", pool="gpu-a100", cpu_cost=2.0 * pods,
              gpu_cost=10.0 * pods, pod_hours=pods, cpu_req=pods, cpu_chg=pods, mem_req=0, mem_chg=0,
              gpu_hours=pods)
    owner(ctx, "ai-evals", "CronJob", "nightly-evals", "ml-platform", "research")
    ctx.db.execute(
        "INSERT INTO job_runs (cluster, namespace, job, cronjob, created_at, parallelism, completions) VALUES "
        "('gke', 'ai-evals', 'nightly-evals-1', 'nightly-evals', '2026-11-15 01:00', 2, 2),"
        "('gke', 'ai-evals', 'nightly-evals-2', 'nightly-evals', '2026-11-22 01:00', 4, 4)"
    )
    out = explain_change(ctx, ExplainInput(cluster="gke", current="this-week", baseline="previous-week"))
    check_sums(out)
    top = out.rows[0]
    assert top.key == "ai-evals" and top.delta == pytest.approx(24.0)
    assert out.headline.startswith("ai-evals namespace drove 100% of this week's GKE increase")
    assert top.node_pools[0].node_pool == "gpu-a100" and top.node_pools[0].gpu
    assert top.owner == "ml-platform" and top.team == "research" and top.owner_labels["owner"] == "ml-platform"
    assert set(top.main_drivers) == {"gpu_hours", "pod_hours"}
    par = [c for c in top.changes if c.field == "parallelism"]
    assert par and (par[0].from_value, par[0].to_value) == ("2", "4")
    assert par[0].timestamp == datetime(2026, 11, 22, 1)
    dumped = json.loads(out.model_dump_json())
    assert dumped["rows"][0]["changes"][0]["from"] == "2"
    for name in ("cluster", "current", "baseline", "total_delta", "rows"):
        assert name in dumped
    assert set(dumped["current"]) >= {"start", "end"}
    assert dumped["current"]["start"] == "2026-11-21T00:00:00"
    for name in ("key", "baseline_cost", "current_cost", "delta", "share_of_increase", "drivers", "node_pools",
                 "owner", "changes"):
        assert name in dumped["rows"][0]


def test_no_data_cases(ctx):
    api(ctx, CUR_HOUR, 10)
    with pytest.raises(ToolRetry) as err:
        run(ctx, cluster="eks")
    assert err.value.valid == ["gke"]
    # baseline window entirely before the data: an error naming the data's range
    with pytest.raises(InputError, match="2026-11-22 00:00"):
        run(ctx)
    # pod-hours exist in the baseline but nothing was allocated there: no_data, not $0
    from tests.tools.cost_worlds import pod_hour
    pod_hour(ctx, BASE_HOUR, "shop", "api-1")
    out = run(ctx)
    assert out.status == "no_data" and "baseline" in out.reason and not out.rows
    api(ctx, BASE_HOUR, 10)
    out = run(ctx, key="payments")
    assert out.status == "no_data" and "'payments'" in out.reason and not out.rows
    out = run(ctx, key="shop")
    assert out.status == "ok" and [r.key for r in out.rows] == ["shop"]


def test_volume_rows_without_quantities_keep_compute_drivers(ctx):
    api(ctx, BASE_HOUR, 10)
    api(ctx, CUR_HOUR, 20)
    alloc(ctx, BASE_HOUR, "shop", "api", storage_cost=3.0)   # the workload's disk: no pod quantities
    alloc(ctx, CUR_HOUR, "shop", "api", storage_cost=5.0)
    out = run(ctx, by="workload")
    check_sums(out)
    only(rows(out)["shop/Deployment/api"].drivers, pod_hours=30.0, other=2.0)


def test_flat_cluster_has_no_shares(ctx):
    api(ctx, BASE_HOUR, 10)
    api(ctx, CUR_HOUR, 10)
    out = run(ctx)
    check_sums(out)
    assert out.total_delta == pytest.approx(0.0)
    assert out.rows[0].share_of_increase is None and out.rows[0].main_drivers == []
    assert out.headline.startswith("gke cost is flat: ")
