"""The demo world's ai-evals story becomes a concrete, reviewable plan; reports and exports reconcile.

Expected values come from the demo's planted ground truth (ground_truth.json: the Job, the
parallelism change, the GPU pool and the owner label the generator wrote).
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest
import yaml
from typer.testing import CliRunner

from tools.plans.patches import check_patch
from tools.plans.propose import ProposeInput, propose_plans
from tools.reports.focus_export import export_focus
from tools.reports.owner_report import ReportInput, owner_report
from tools.windows import parse_window

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_ctx):
    return demo_ctx


def _ai_evals_plan(plans, truth):
    ns, job = truth["explain"]["evidence"]["job"].split("/")
    matches = [p for p in plans if p.action.object.namespace == ns and p.action.object.name == job]
    assert len(matches) == 1, [p.title for p in plans]
    return matches[0]


def test_ai_evals_plan_has_six_concrete_fields_and_a_parallelism_patch(demo):
    ctx, truth, _ = demo
    ev = truth["explain"]["evidence"]
    before, after = (v.strip() for v in ev["parallelism"].split("->"))  # "2 -> 6"
    out = propose_plans(ctx, ProposeInput(cluster=truth["explain"]["cluster"]))
    assert out.status == "ok"
    plan = _ai_evals_plan(out.plans, truth)
    assert out.plans[0].plan_id == plan.plan_id  # the largest saving in the cluster

    assert plan.finding.startswith(f"ai-evals namespace drove {truth['explain']['ai_evals_share_pct']:.0f}% "
                                   "of this week's GKE increase")
    tools = {(e.tool, e.ref) for e in plan.evidence}
    cluster = truth["explain"]["cluster"]
    assert ("explain_change", f"{cluster}/ai-evals") in tools
    assert ("node_pool_breakdown", f"{cluster}/{ev['node_pool']}") in tools
    assert ("node_pool_breakdown", f"{cluster}/{ev['node_pool']}/gpu_node_hours") in tools
    assert any(t == "deploy_history" and r.endswith("/Job/eval-harness/parallelism") for t, r in tools)
    assert any(t == "deploy_history" and r.endswith("/job_runs") for t, r in tools)  # Job history
    assert any(t == "deploy_history" and "eval-controller" in r and r.endswith("/revision") for t, r in tools)
    assert any(t == "workload_owners" for t, _ in tools)

    [change] = plan.action.changes
    assert (plan.action.object.kind, change.field, change.from_value, change.to_value) == ("Job", "parallelism",
                                                                                          after, before)
    assert [(c.field, c.from_value, c.to_value) for c in plan.rollback.changes] == [("parallelism", before, after)]
    assert plan.risk.level in ("low", "medium") and plan.risk.description
    assert plan.reviewer.name == ev["owner"] and plan.reviewer.source != "fallback"
    assert plan.monthly_savings and plan.monthly_savings > 0

    body = yaml.safe_load(plan.patch[0].body)
    assert body == {"spec": {"parallelism": int(before)}}
    assert yaml.safe_load(plan.rollback_patch[0].body) == {"spec": {"parallelism": int(after)}}
    assert check_patch(plan.patch[0]).spec.parallelism == int(before)
    assert any("EVAL_PARALLELISM" in n for n in plan.patch[0].notes)  # the controller would bring 6 back


def test_every_demo_plan_is_valid_and_owned_or_assigns_an_owner(demo):
    ctx, _, _ = demo
    out = propose_plans(ctx, ProposeInput())
    assert out.plans and len({p.plan_id for p in out.plans}) == len(out.plans)  # one object, one plan
    savings = [p.monthly_savings or 0.0 for p in out.plans if p.plan_kind == "optimize"]
    assert savings == sorted(savings, reverse=True)
    for plan in out.plans:
        for patch in plan.patch + plan.rollback_patch:
            check_patch(patch)
        if plan.plan_kind == "optimize":
            assert plan.reviewer.source in ("pod", "controller", "namespace", "owners.yaml")
        else:
            assert plan.action.changes[0].field == "owner_label"


def test_cli_plan_review_and_ticket(demo):
    ctx, truth, folder = demo
    from agent.cli import _register, app

    _register()
    db = folder / "cli.duckdb"
    ctx.db.execute("CHECKPOINT")
    db.write_bytes((folder / "demo.duckdb").read_bytes())
    runner = CliRunner()
    listed = runner.invoke(app, ["plan", "--cluster", truth["explain"]["cluster"], "--json", "--db", str(db)])
    assert listed.exit_code == 0, listed.output
    plan_id = next(p["plan_id"] for p in json.loads(listed.output)["plans"]
                   if p["action"]["object"]["name"] == "eval-harness")
    done = runner.invoke(app, ["plan", "review", plan_id, "--approve", "--by", "dana", "--note", "evals can wait",
                               "--db", str(db)])
    assert done.exit_code == 0 and f"{plan_id} approved by dana" in done.output
    approved = runner.invoke(app, ["plan", "list", "--state", "approved", "--json", "--db", str(db)])
    assert [p["plan_id"] for p in json.loads(approved.output)] == [plan_id]
    ticket = runner.invoke(app, ["plan", "ticket", plan_id, "--db", str(db)])
    assert ticket.exit_code == 0 and f"To: **{truth['explain']['evidence']['owner']}**" in ticket.output
    assert "Approved by dana" in ticket.output and "parallelism" in ticket.output


def test_demo_report_and_focus_export_reconcile(demo, tmp_path):
    ctx, _, _ = demo
    window = parse_window(ctx, "this-week")
    expected = ctx.db.execute("SELECT sum(cost) FROM allocation_hours WHERE hour >= ? AND hour < ?",
                              [window.start, window.end]).fetchone()[0]
    report = owner_report(ctx, ReportInput(by="team", window="this-week"))
    assert round(report.total, 2) == round(expected, 2)
    assert round(report.ai.ai_cost + report.ai.core_cost, 2) == round(expected, 2)
    assert report.ai.ai_cost > 0

    with open(tmp_path / "focus.csv", "w", newline="") as out:
        summary = export_focus(ctx, window, out)
    bill = ctx.db.execute("SELECT sum(billed_cost), sum(effective_cost) FROM billing_rows WHERE "
                          "charge_period_start >= ? AND charge_period_start < ?", [window.start, window.end]).fetchone()
    with open(tmp_path / "focus.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert round(sum(float(r["BilledCost"]) for r in rows), 2) == round(bill[0], 2)
    assert round(sum(float(r["EffectiveCost"]) for r in rows), 2) == round(bill[1], 2)
    ratio = defaultdict(float)
    for r in rows:
        if r["AllocatedMethodDetails"]:
            ratio[r["x_OriginChargeId"]] += sum(e["AllocatedRatio"] for e in json.loads(r["AllocatedMethodDetails"])["Elements"])
    assert len(ratio) == summary.split_charges > 0
    assert all(abs(v - 1.0) < 1e-9 for v in ratio.values())
