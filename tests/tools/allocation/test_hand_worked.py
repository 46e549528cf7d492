"""A hand-worked allocation: every bucket's cost is computed by hand in the comments.

World (cluster `prod`, one hour T0..T0+1h, EffectiveCost unless said otherwise):

node n1  pool general, m5.xlarge, 2 vCPU, 18 GiB, billed 0.36 (BilledCost 0.72)
         split 9*2 : 1*18 = 18 : 18 -> cpu 0.18 (0.09 per core), memory 0.18 (0.01 per GiB)
node n2  pool gpu, g5.xlarge (price table: GPU share 0.80), 4 vCPU, 36 GiB, 1 GPU, billed 1.00
         gpu 1.00 * 0.80 = 0.80; rest 0.20 split 36 : 36 -> cpu 0.10 (0.025/core), memory 0.10
pods (fraction 1):
  shop/web     Deployment on n1: request 0.5 cpu / 4 GiB, usage 1.0 cpu / 2 GiB -> charged 1.0 / 4
  shop/api     Deployment on n1: request 0.5 / 2, usage 0.2 / 1                    -> charged 0.5 / 2
  kube-system/coredns on n1: request 0.1 / 1, no usage measured                    -> charged 0.1 / 1
  ml/train-1   Job on n2: request 2 cpu / 18 GiB / 1 GPU                           -> charged 2 / 18 / 1
volume  vol-111 (PV pv-data, claim ml/data, mounted by train-1): 0.10
LB      Service shop/front, lb_id a1b2, billed 0.025
EKS control-plane fee (tagged prod) 0.10
NAT gateway (tagged prod) 0.20; web sent 3 MB, api 1 MB
S3 (no cluster) 0.05
Bill total (EffectiveCost) = 0.36 + 1.00 + 0.10 + 0.025 + 0.10 + 0.20 + 0.05 = 1.835
"""

from __future__ import annotations

import pytest

from tests.tools.allocation.worlds import HOUR, T0, World, hours
from tools.allocation import rebuild_allocation
from tools.allocation.query import AllocateInput, allocate_window
from tools.allocation.reconcile import reconcile
from tools.settings import AllocationSettings, Settings

TAG = {"eks:cluster-name": "prod"}


def build_hand_world(w: World) -> None:
    h = hours(T0, 1)
    w.cluster("prod")
    w.namespace("prod", "shop", {"team": "shop"})
    w.namespace("prod", "ml", {})
    w.namespace("prod", "kube-system", {})
    w.node("prod", "n1", instance_id="i-aaa", instance_type="m5.xlarge", pool="general", cpu=2, mem_gib=18, hours=h)
    w.node("prod", "n2", instance_id="i-bbb", instance_type="g5.xlarge", pool="gpu", cpu=4, mem_gib=36, gpu=1, hours=h)
    w.pod("prod", "shop", "web-1", "n1", "Deployment", "web", h, cpu=0.5, mem_gib=4, cpu_usage=1.0, mem_usage_gib=2,
          tx_bytes=3e6, labels={"owner": "alice"})
    w.pod("prod", "shop", "api-1", "n1", "Deployment", "api", h, cpu=0.5, mem_gib=2, cpu_usage=0.2, mem_usage_gib=1,
          tx_bytes=1e6)
    w.pod("prod", "kube-system", "coredns-1", "n1", "Deployment", "coredns", h, cpu=0.1, mem_gib=1)
    w.pod("prod", "ml", "train-1-abc", "n2", "Job", "train-1", h, cpu=2, mem_gib=18, gpu=1)
    w.volume("prod", "pv-data", "vol-111", claim=("ml", "data"), mounted_by=["train-1-abc"])
    w.service("prod", "shop", "front", "a1b2")
    w.bill("arn:aws:ec2:us-east-1:1:instance/i-aaa", T0, T0 + HOUR, 0.36, 0.72, tags=TAG)
    w.bill("arn:aws:ec2:us-east-1:1:instance/i-bbb", T0, T0 + HOUR, 1.00, 1.00, tags=TAG)
    w.bill("arn:aws:ec2:us-east-1:1:volume/vol-111", T0, T0 + HOUR, 0.10, service="Amazon Elastic Block Store",
           category="Storage")
    w.bill("arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/a1b2/f00", T0, T0 + HOUR, 0.025,
           service="Elastic Load Balancing", category="Networking")
    w.bill("arn:aws:eks:us-east-1:1:cluster/prod", T0, T0 + HOUR, 0.10, service="Amazon Elastic Kubernetes Service",
           category="Compute", tags=TAG)
    w.bill("nat-0123", T0, T0 + HOUR, 0.20, service="Amazon Virtual Private Cloud", category="Networking", tags=TAG)
    w.bill("my-bucket", T0, T0 + HOUR, 0.05, service="Amazon Simple Storage Service", category="Storage")


EXPECTED = {
    # (bucket, namespace, kind, name, node_pool): (cpu, memory, gpu, storage, network, other)
    # web: cpu 1.0 core * 0.09 = 0.09; memory max(4, 2) GiB * 0.01 = 0.04; NAT 0.20 * 3/4 = 0.15
    ("workload", "shop", "Deployment", "web", "general"): (0.09, 0.04, 0, 0, 0, 0),
    ("workload", "shop", "Deployment", "web", ""): (0, 0, 0, 0, 0.15, 0),
    # api: cpu max(0.5, 0.2) * 0.09 = 0.045; memory 2 * 0.01 = 0.02; NAT 0.20 * 1/4 = 0.05
    ("workload", "shop", "Deployment", "api", "general"): (0.045, 0.02, 0, 0, 0, 0),
    ("workload", "shop", "Deployment", "api", ""): (0, 0, 0, 0, 0.05, 0),
    # coredns in kube-system is shared: cpu 0.1 * 0.09 = 0.009; memory 1 * 0.01 = 0.01
    ("shared", "kube-system", "", "__shared__:kube-system", "general"): (0.009, 0.01, 0, 0, 0, 0),
    # idle of pool general: cpu 0.18 - (0.09 + 0.045 + 0.009) = 0.036; memory 0.18 - 0.07 = 0.11
    ("idle", "", "", "__idle__", "general"): (0.036, 0.11, 0, 0, 0, 0),
    # train-1: cpu 2 * 0.025 = 0.05; memory 18/36 * 0.10 = 0.05; GPU 1/1 * 0.80 = 0.80
    ("workload", "ml", "Job", "train-1", "gpu"): (0.05, 0.05, 0.80, 0, 0, 0),
    # its volume: disk row -> pv-data -> ml/data -> mounted by train-1
    ("workload", "ml", "Job", "train-1", ""): (0, 0, 0, 0.10, 0, 0),
    # idle of pool gpu: cpu 0.10 - 0.05; memory 0.10 - 0.05; GPU 0.80 - 0.80
    ("idle", "", "", "__idle__", "gpu"): (0.05, 0.05, 0, 0, 0, 0),
    # the load balancer row carries lb_id a1b2 -> Service shop/front
    ("workload", "shop", "Service", "front", ""): (0, 0, 0, 0, 0.025, 0),
    ("shared", "", "", "__shared__:control-plane", ""): (0, 0, 0, 0, 0, 0.10),
    ("external", "", "", "Amazon Simple Storage Service", ""): (0, 0, 0, 0, 0, 0.05),
}


def _allocation(ctx) -> dict:
    rows = ctx.db.execute(
        "SELECT bucket, namespace, workload_kind, workload_name, node_pool, cpu_cost, memory_cost, gpu_cost, "
        "storage_cost, network_cost, other_cost, cost, estimated FROM allocation_hours"
    ).fetchall()
    return {r[:5]: r[5:] for r in rows}


def test_every_bucket_matches_the_hand_worked_costs(ctx):
    build_hand_world(World(ctx.db))
    summary = rebuild_allocation(ctx)
    got = _allocation(ctx)
    assert set(got) == set(EXPECTED)
    for key, parts in EXPECTED.items():
        assert got[key][:6] == pytest.approx(parts, abs=1e-12), key
        assert got[key][6] == pytest.approx(sum(parts), abs=1e-12), key
        assert got[key][7] is False
    assert summary.billed_total == pytest.approx(1.835)
    assert summary.allocated_total == pytest.approx(1.835)
    assert summary.estimated_total == 0


def test_quantities_behind_the_costs(ctx):
    build_hand_world(World(ctx.db))
    rebuild_allocation(ctx)
    web = ctx.db.execute(
        "SELECT pod_hours, cpu_request_hours, cpu_usage_hours, cpu_charged_hours, memory_request_gib_hours, "
        "memory_usage_gib_hours, memory_charged_gib_hours FROM allocation_hours "
        "WHERE workload_name = 'web' AND node_pool = 'general'").fetchone()
    assert web == pytest.approx((1, 0.5, 1.0, 1.0, 4, 2, 4))
    train = ctx.db.execute("SELECT gpu_hours FROM allocation_hours WHERE workload_name = 'train-1' AND node_pool = 'gpu'")
    assert train.fetchone()[0] == 1
    # idle rows carry the unclaimed capacity: general has 2 - 1.6 cores and 18 - 7 GiB left
    idle = ctx.db.execute("SELECT cpu_charged_hours, memory_charged_gib_hours, gpu_hours FROM allocation_hours "
                          "WHERE bucket = 'idle' AND node_pool = 'general'").fetchone()
    assert idle == pytest.approx((0.4, 11, 0))


def test_billed_cost_basis_uses_billedcost(tmp_path):
    from tools.context import Context

    ctx = Context.open(tmp_path / "b.duckdb", Settings(allocation=AllocationSettings(cost_basis="billed")))
    try:
        build_hand_world(World(ctx.db))
        summary = rebuild_allocation(ctx)
        # only n1 differs: BilledCost 0.72 instead of 0.36 -> every n1 charge doubles
        assert summary.billed_total == pytest.approx(1.835 + 0.36)
        web = ctx.db.execute("SELECT cpu_cost, memory_cost FROM allocation_hours "
                             "WHERE workload_name = 'web' AND node_pool = 'general'").fetchone()
        assert web == pytest.approx((0.18, 0.08))
    finally:
        ctx.close()


def test_owner_resolution_order(ctx, tmp_path):
    owners = tmp_path / "owners.yaml"
    owners.write_text("- namespace: 'ml*'\n  owner: bob\n  team: research\n- namespace: 'm*'\n  owner: nobody\n"
                      "- namespace: 'kube-?ystem'\n  owner: platform\n")
    ctx.settings.allocation.owners_file = owners
    w = World(ctx.db)
    build_hand_world(w)
    w.workload("prod", "shop", "Deployment", "api", {"service": "api", "env": "prod"})
    rebuild_allocation(ctx)
    got = {r[0]: r[1:] for r in ctx.db.execute(
        "SELECT workload_name, owner, team, service, env, owner_source FROM workload_owners").fetchall()}
    assert got["web"] == ("alice", "shop", None, None, "pod")            # pod label, team from namespace
    assert got["api"] == ("shop", "shop", "api", "prod", "namespace")    # no owner label: the team owns it
    assert got["front"] == ("shop", "shop", None, None, "namespace")
    assert got["train-1"] == ("bob", "research", None, None, "owners.yaml")


def test_oversubscribed_node_has_zero_idle_and_pods_pay_the_node(ctx):
    w = World(ctx.db)
    h = hours(T0, 1)
    w.node("c", "n", instance_id="i-x", instance_type="m5.large", cpu=2, mem_gib=18, hours=h)
    # a: request 1, usage 3 -> charged 3; b: request 1 -> charged 1; 4 cores charged on 2:
    # scaled by 2/4, so a pays 3/4 and b 1/4 of the node's CPU cost (0.09), idle CPU 0.
    w.pod("c", "a", "a-1", "n", "Deployment", "a", h, cpu=1, mem_gib=1, cpu_usage=3)
    w.pod("c", "b", "b-1", "n", "Deployment", "b", h, cpu=1, mem_gib=1)
    w.bill("i-x", T0, T0 + HOUR, 0.18, tags={"eks:cluster-name": "c"})
    rebuild_allocation(ctx)
    cpu = dict(ctx.db.execute("SELECT workload_name, cpu_cost FROM allocation_hours").fetchall())
    assert cpu["a"] == pytest.approx(0.09 * 3 / 4)
    assert cpu["b"] == pytest.approx(0.09 * 1 / 4)
    assert cpu["__idle__"] == pytest.approx(0.0, abs=1e-12)


def test_node_without_billing_row_is_estimated_and_said_so(ctx):
    w = World(ctx.db)
    build_hand_world(w)
    # n3 is in the cluster but not on the bill: m5.large is 0.096/h in the price table,
    # split 9*2 : 1*8 = 18 : 8 -> cpu 0.096 * 18/26, memory 0.096 * 8/26
    w.node("prod", "n3", instance_id="i-ccc", instance_type="m5.large", pool="general", cpu=2, mem_gib=8,
           hours=hours(T0, 1))
    w.pod("prod", "shop", "web-2", "n3", "Deployment", "web", hours(T0, 1), cpu=1, mem_gib=4)
    summary = rebuild_allocation(ctx)
    est = ctx.db.execute("SELECT workload_name, cpu_cost, memory_cost FROM allocation_hours WHERE estimated "
                         "ORDER BY 1").fetchall()
    # web-2 pays 1/2 of the cpu and 4/8 of the memory; the rest is idle (estimated)
    assert est == [("__idle__", pytest.approx(0.096 * 18 / 26 / 2), pytest.approx(0.096 * 8 / 26 / 2)),
                   ("web", pytest.approx(0.096 * 18 / 26 / 2), pytest.approx(0.096 * 8 / 26 / 2))]
    assert summary.estimated_total == pytest.approx(0.096)
    assert summary.allocated_total == pytest.approx(1.835)            # billed money unchanged
    assert any("n3" in c and "estimated" in c for c in summary.caveats)
    caveat = ctx.db.execute("SELECT message FROM data_caveats WHERE code = 'node_unbilled'").fetchone()[0]
    assert "n3" in caveat and "price table" in caveat
    rec = reconcile(ctx, "all")
    assert rec.ok and rec.estimated_total == pytest.approx(0.096)
    assert rec.billed_total == pytest.approx(1.835) and rec.allocated_total == pytest.approx(1.835)


def test_pod_on_a_node_unknown_to_the_warehouse(ctx):
    w = World(ctx.db)
    build_hand_world(w)
    # no node data for `ghost`: charged 1 core and 2 GiB at the fallback rates
    w.pod("prod", "shop", "stray-1", "ghost", "Pod", "stray-1", hours(T0, 1), cpu=1, mem_gib=2)
    summary = rebuild_allocation(ctx)
    row = ctx.db.execute("SELECT estimated, node_pool, cpu_cost, memory_cost, pod_hours FROM allocation_hours "
                         "WHERE workload_name = 'stray-1'").fetchone()
    assert row == (True, "", pytest.approx(0.031611), pytest.approx(2 * 0.004237), 1)
    assert any("no node data" in c for c in summary.caveats)
    assert summary.allocated_total == pytest.approx(1.835)
    assert reconcile(ctx, "all").ok


@pytest.mark.parametrize("policy", ["proportional", "even", "weights"])
def test_shared_policies_redistribute_exactly_the_shared_total(ctx, policy):
    build_hand_world(World(ctx.db))
    ctx.settings.allocation.team_weights = {"shop": 3, "research": 1}
    ctx.db.execute("INSERT INTO namespaces VALUES ('prod', 'ml', MAP {'team': 'research'}, NULL, NULL) "
                   "ON CONFLICT DO UPDATE SET labels = excluded.labels")
    rebuild_allocation(ctx)
    out = allocate_window(ctx, AllocateInput(window="all", by="namespace", shared_policy=policy))
    rows = {r.key: r for r in out.rows}
    # shared = kube-system 0.019 + control plane 0.10 = 0.119; direct: shop 0.28 + 0.115 + 0.025 = 0.42, ml 1.00
    shared = 0.119
    expected = {"proportional": (shared * 0.42 / 1.42, shared * 1.00 / 1.42),
                "even": (shared / 2, shared / 2),
                "weights": (shared * 3 / 4, shared * 1 / 4)}[policy]
    assert (rows["shop"].shared_cost, rows["ml"].shared_cost) == pytest.approx(expected)
    assert rows["shop"].cost == pytest.approx(0.42 + expected[0])
    assert rows["ml"].cost == pytest.approx(1.00 + expected[1])
    assert not any(k.startswith("__shared__") for k in rows)
    assert sum(r.shared_cost for r in out.rows) == pytest.approx(shared)
    assert out.total_cost == pytest.approx(1.835)


def test_visible_shared_rows_and_query_columns(ctx):
    build_hand_world(World(ctx.db))
    rebuild_allocation(ctx)
    out = allocate_window(ctx, AllocateInput(window="all", by="namespace"))
    assert out.status == "ok"
    rows = {r.key: r for r in out.rows}
    assert rows["__shared__:kube-system"].shared_cost == pytest.approx(0.019)
    assert rows["__shared__:control-plane"].shared_cost == pytest.approx(0.10)
    assert rows["__idle__"].idle_cost == pytest.approx(0.146 + 0.10)
    assert rows["shop"].network_cost == pytest.approx(0.15 + 0.05 + 0.025)
    assert rows["ml"].gpu_cost == pytest.approx(0.80) and rows["ml"].storage_cost == pytest.approx(0.10)
    assert rows["Amazon Simple Storage Service"].other_cost == pytest.approx(0.05)
    assert out.total_cost == pytest.approx(1.835)
    # owned workload cost: web 0.28 (alice) + api 0.115 + front 0.025 (team shop) of 1.42
    assert out.owner_coverage == pytest.approx(round(0.42 / 1.42, 4))
    by_pool = {r.key: r for r in allocate_window(ctx, AllocateInput(window="all", by="node_pool")).rows}
    assert by_pool["gpu"].cost == pytest.approx(0.90 + 0.10)   # train-1 on n2 + idle of n2
    assert by_pool["general"].idle_cost == pytest.approx(0.146)


def test_reconcile_is_within_a_cent_on_every_line(ctx):
    build_hand_world(World(ctx.db))
    rebuild_allocation(ctx)
    rec = reconcile(ctx, "all")
    assert rec.status == "ok" and rec.ok
    billed = {line.cluster: line.billed for line in rec.lines}
    assert billed == {"prod": pytest.approx(1.785), "external": pytest.approx(0.05)}
    assert all(abs(line.difference) < 0.01 for line in rec.lines)


def test_no_data_is_not_zero(ctx):
    out = allocate_window(ctx, AllocateInput(window="7d", by="namespace"))
    assert out.status == "no_data" and out.total_cost is None and out.rows == []
    build_hand_world(World(ctx.db))
    rebuild_allocation(ctx)
    out = allocate_window(ctx, AllocateInput(window="2020-01-01..2020-01-02", by="namespace"))
    assert out.status == "no_data" and "2026-03-02" in out.data_range
    assert allocate_window(ctx, AllocateInput(window="all", cluster="nope")).status == "no_data"


def test_visible_shared_row_counts_only_the_pod_hours_of_its_kept_clusters(ctx):
    # prod's shared cost goes to team shop (weighted); cluster lab has no weighted team, so its
    # kube-system cost stays visible, with lab's 2 kube-system pod-hours and none of prod's 1.
    w = World(ctx.db)
    build_hand_world(w)
    h = hours(T0, 1)
    w.cluster("lab")
    w.node("lab", "l1", instance_id=None, instance_type="m5.xlarge", pool="lab", cpu=4, mem_gib=16, hours=h)
    w.pod("lab", "kube-system", "dns-a", "l1", "Deployment", "dns", h, cpu=0.1, mem_gib=1)
    w.pod("lab", "kube-system", "dns-b", "l1", "Deployment", "dns", h, cpu=0.1, mem_gib=1)
    w.pod("lab", "research", "nb-1", "l1", "Deployment", "notebook", h, cpu=1, mem_gib=2)
    rebuild_allocation(ctx)
    for _ in range(3):
        out = allocate_window(ctx, AllocateInput(window="all", by="namespace", shared_policy="weights",
                                                 team_weights={"shop": 1}))
        rows = {r.key: r for r in out.rows}
        # lab's kube-system: 0.2 cores and 2 GiB at m5.xlarge's price (0.192) split 9*4 : 1*16
        lab_shared = 0.192 * (36 / 52) * 0.2 / 4 + 0.192 * (16 / 52) * 2 / 16
        assert rows["__shared__:kube-system"].shared_cost == pytest.approx(lab_shared)
        assert rows["__shared__:kube-system"].pod_hours == 2
