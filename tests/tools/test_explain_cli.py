"""`allot explain`, `node-pools`, `usage` and `changes` as a user runs them, on a hand-made world."""

from __future__ import annotations

import json
from datetime import timedelta

from typer.testing import CliRunner

from tests.tools.cost_worlds import BASE_HOUR, CUR_HOUR, LAST_HOUR, alloc, node, owner, pod_hour
from tools.context import Context


def _app():
    from agent.cli import _register, app

    _register()
    return app


def _world(path):
    ctx = Context.open(path)
    ctx.db.execute("INSERT INTO clusters (cluster, provider) VALUES ('gke', 'gcp')")
    node(ctx, "gpu-1", "gpu-l4", instance_type="g2-standard-8", gpus=1)
    for hour, pods in ((BASE_HOUR, 2), (CUR_HOUR, 6)):
        alloc(ctx, hour, "ai-evals", "eval-harness", kind="Job", pool="gpu-l4", cpu_cost=1.0 * pods,
              gpu_cost=4.0 * pods, pod_hours=pods, cpu_req=pods, cpu_chg=pods, mem_req=0, mem_chg=0, gpu_hours=pods)
        alloc(ctx, hour, "shop", "api", pool="general", cpu_cost=10.0, pod_hours=5, cpu_req=5, cpu_chg=5,
              mem_req=0, mem_chg=0)
        for i in range(pods):
            pod_hour(ctx, hour, "ai-evals", f"eval-harness-{i}", node="gpu-1", kind="Job", name="eval-harness",
                     cpu_request=8, gpu_request=1, gpu_util=0.8, cpu_usage=5.0)
    alloc(ctx, LAST_HOUR, "shop", "api", pool="general", cpu_cost=0.0, pod_hours=0, cpu_req=0, cpu_chg=0,
          mem_req=0, mem_chg=0)
    owner(ctx, "ai-evals", "Job", "eval-harness", "ml-research", "ml-research")
    for i, value in enumerate(["2", "2", "6"]):
        ctx.db.execute("INSERT INTO workload_spec_hours VALUES ('gke', ?, 'ai-evals', 'Job', 'eval-harness', "
                       "'parallelism', ?)", [CUR_HOUR + timedelta(hours=i - 1), value])
    ctx.close()


def test_explain_table_and_json(tmp_path):
    db = str(tmp_path / "w.duckdb")
    _world(db)
    app = _app()
    table = CliRunner().invoke(app, ["explain", "--cluster", "gke", "--db", db], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    first = table.output.splitlines()[0]
    assert first.startswith("ai-evals namespace drove 100% of this week's GKE increase (+20.00 of +20.00")
    assert "parallelism 2 -> 6" in table.output

    out = json.loads(CliRunner().invoke(app, ["explain", "--cluster", "gke", "--by", "workload", "--json",
                                              "--db", db]).output)
    assert out["cluster"] == "gke" and out["total_delta"] == 20.0
    assert out["current"]["start"] == "2026-11-21T00:00:00" and out["baseline"]["end"] == "2026-11-21T00:00:00"
    top = out["rows"][0]
    assert top["key"] == "ai-evals/Job/eval-harness" and top["owner"] == "ml-research"
    assert top["drivers"]["gpu_hours"] == 16.0 and top["drivers"]["pod_hours"] == 4.0
    assert top["node_pools"][0]["node_pool"] == "gpu-l4" and top["node_pools"][0]["gpu"] is True
    assert [(c["field"], c["from"], c["to"]) for c in top["changes"]] == [("parallelism", "2", "6")]

    bad = CliRunner().invoke(app, ["explain", "--cluster", "nope", "--db", db])
    assert bad.exit_code != 0


def test_node_pools_usage_changes(tmp_path):
    db = str(tmp_path / "w.duckdb")
    _world(db)
    app = _app()
    r = CliRunner().invoke(app, ["node-pools", "--cluster", "gke", "--json", "--db", db])
    pools = json.loads(r.output)["pools"]
    assert pools[0]["node_pool"] == "gpu-l4" and pools[0]["spike"] is True
    r = CliRunner().invoke(app, ["usage", "--cluster", "gke", "--window", "this-week", "--by", "workload", "--json",
                                 "--db", db])
    rows = {x["key"]: x for x in json.loads(r.output)["rows"]}
    assert rows["ai-evals/Job/eval-harness"]["replicas_max"] == 6
    assert rows["ai-evals/Job/eval-harness"]["gpu"]["usage_p95"] == 0.8
    r = CliRunner().invoke(app, ["changes", "--cluster", "gke", "--window", "this-week", "--db", db],
                           env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "parallelism" in r.output and "Job/eval-harness" in r.output
