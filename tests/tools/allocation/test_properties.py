"""Properties over random small worlds (hypothesis): buckets equal the bill per cluster-hour,
idle is never negative, every pod-hour is allocated exactly once."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.tools.allocation.test_oracle import assert_engine_matches_reference
from tests.tools.allocation.worlds import HOUR, T0, World
from tools.allocation import rebuild_allocation
from tools.context import Context
from tools.settings import Settings

node_st = st.fixed_dictionaries({
    "cpu": st.sampled_from([0.0, 1.0, 2.0, 8.0]),
    "mem": st.sampled_from([0.0, 4.0, 16.0]),
    "gpu": st.sampled_from([0.0, 0.0, 1.0, 8.0]),
    "type": st.sampled_from(["m5.large", "g5.xlarge", "p4d.24xlarge", "no.such.type"]),
    "billed": st.booleans(),
    "cost": st.floats(min_value=0, max_value=50, allow_nan=False),
    "hours": st.sets(st.integers(0, 2), min_size=1),
    "bill_hours": st.sets(st.integers(0, 3)),
})
pod_st = st.fixed_dictionaries({
    "node": st.integers(0, 4),            # indexes past the node list are nodes with no data
    "ns": st.sampled_from(["a", "b", "kube-system"]),
    "cpu": st.sampled_from([0.0, 0.5, 4.0]),
    "mem": st.sampled_from([0.0, 1.0, 32.0]),
    "gpu": st.sampled_from([0.0, 1.0]),
    "cpu_usage": st.one_of(st.none(), st.floats(0, 16, allow_nan=False)),
    "mem_usage": st.one_of(st.none(), st.floats(0, 64, allow_nan=False)),
    "fraction": st.sampled_from([1.0, 0.5, 0.01]),
    "tx": st.one_of(st.none(), st.floats(0, 1e9, allow_nan=False)),
    "hours": st.sets(st.integers(0, 2), min_size=1),
})
cluster_row_st = st.fixed_dictionaries({
    "service": st.sampled_from(["Amazon Virtual Private Cloud", "AmazonCloudWatch", "Amazon Elastic Kubernetes Service",
                                "Amazon SQS"]),
    "category": st.sampled_from(["Networking", "Management and Governance", "Compute", "Integration"]),
    "start_min": st.integers(0, 170),
    "minutes": st.integers(0, 200),
    "cost": st.floats(min_value=-5, max_value=5, allow_nan=False),
    "tagged": st.booleans(),
})
world_st = st.fixed_dictionaries({
    "nodes": st.lists(node_st, min_size=0, max_size=3),
    "pods": st.lists(pod_st, min_size=0, max_size=6),
    "rows": st.lists(cluster_row_st, max_size=4),
})


def build(ctx: Context, world: dict) -> None:
    w = World(ctx.db)
    w.cluster("k")
    for i, n in enumerate(world["nodes"]):
        iid = f"i-{i}" if n["billed"] else None
        w.node("k", f"n{i}", instance_id=iid, instance_type=n["type"], cpu=n["cpu"], mem_gib=n["mem"], gpu=n["gpu"],
               hours=[T0 + h * HOUR for h in sorted(n["hours"])], pool=f"p{i % 2}")
        if iid:
            for h in sorted(n["bill_hours"]):
                w.bill(iid, T0 + h * HOUR, T0 + (h + 1) * HOUR, n["cost"], tags={"eks:cluster-name": "k"})
    for j, p in enumerate(world["pods"]):
        w.pod("k", p["ns"], f"pod{j}", f"n{p['node']}", "Deployment", f"w{j % 2}",
              [T0 + h * HOUR for h in sorted(p["hours"])], cpu=p["cpu"], mem_gib=p["mem"], gpu=p["gpu"],
              cpu_usage=p["cpu_usage"], mem_usage_gib=p["mem_usage"], fraction=p["fraction"], tx_bytes=p["tx"])
    for r in world["rows"]:
        start = T0 + timedelta(minutes=r["start_min"])
        w.bill(f"res-{r['service']}", start, start + timedelta(minutes=r["minutes"]), r["cost"],
               service=r["service"], category=r["category"], tags={"eks:cluster-name": "k"} if r["tagged"] else {})


@settings(max_examples=60, deadline=None)
@given(world=world_st)
def test_buckets_sum_to_the_bill_idle_nonnegative_pod_hours_once(world):
    ctx = Context.open(":memory:", Settings())
    try:
        build(ctx, world)
        summary = rebuild_allocation(ctx)
        con = ctx.db
        # the spread bill equals the bill
        assert abs(con.execute("SELECT coalesce(sum(effective_cost), 0) FROM billing_attribution").fetchone()[0]
                   - sum(r[0] for r in con.execute("SELECT effective_cost FROM billing_rows").fetchall())) < 1e-9
        # per cluster-hour, billed money in buckets = the bill
        diffs = con.execute(
            """
            WITH b AS (SELECT cluster, hour, sum(effective_cost) AS v FROM billing_attribution GROUP BY ALL),
                 a AS (SELECT cluster, hour, sum(cost) AS v FROM allocation_hours WHERE NOT estimated GROUP BY ALL)
            SELECT coalesce(b.v, 0) - coalesce(a.v, 0) FROM b FULL JOIN a USING (cluster, hour)
            """).fetchall()
        assert all(abs(d) < 0.01 for (d,) in diffs)
        assert abs(summary.difference) < 0.01
        # idle is never negative
        assert con.execute("SELECT count(*) FROM allocation_hours WHERE bucket = 'idle' AND "
                           "(cpu_cost < -1e-9 OR memory_cost < -1e-9 OR gpu_cost < -1e-9)").fetchone()[0] == 0
        # every pod-hour allocated exactly once: running pod-hours per cluster, hour and namespace
        pods = dict(((c, h, ns), v) for c, h, ns, v in con.execute(
            "SELECT cluster, hour, namespace, sum(fraction) FROM pod_hours GROUP BY ALL").fetchall())
        alloc = dict(((c, h, ns), v) for c, h, ns, v in con.execute(
            "SELECT cluster, hour, namespace, sum(pod_hours) FROM allocation_hours WHERE pod_hours IS NOT NULL "
            "GROUP BY ALL").fetchall())
        assert pods.keys() == alloc.keys()
        assert all(abs(pods[k] - alloc[k]) < 1e-9 for k in pods)
        # no pod-hour rows are dropped: each one's charged CPU is paid exactly once
        charged = con.execute("SELECT coalesce(sum(CASE WHEN cpu_usage > cpu_request THEN cpu_usage "
                              "ELSE cpu_request END * fraction), 0) FROM pod_hours").fetchone()[0]
        got = con.execute("SELECT coalesce(sum(cpu_charged_hours), 0) FROM allocation_hours "
                          "WHERE bucket <> 'idle'").fetchone()[0]
        assert abs(charged - got) < 1e-6
        # and the plain-Python reference agrees on every row
        assert_engine_matches_reference(ctx)
    finally:
        ctx.close()
