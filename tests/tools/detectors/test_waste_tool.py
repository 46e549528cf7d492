"""The waste_detectors tool and `allot waste`: statuses, filters, errors, stable ids, scoring."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.tools.detectors.world import GIB, alloc, node, pod
from tools.context import Context
from tools.detectors.finding import Finding, ObjectRef, finding_id
from tools.detectors.scoring import GroundTruth, Story, score_findings
from tools.errors import InputError, ToolRetry
from tools.settings import Settings
from tools.waste_detectors import WasteInput, waste_detectors


def small_world(ctx):
    node(ctx, "n1", "general")
    pod(ctx, "web-1", cpu_request=2.0, mem_request=4 * GIB, cpu_usage=0.2, mem_usage=GIB, network_tx=1e6)
    alloc(ctx, cpu_cost=0.08, memory_cost=0.02, cpu_hours=2.0, mem_gib_hours=4.0, pod_hours=1.0)


def test_empty_warehouse_is_no_data_not_zero(ctx):
    out = waste_detectors(ctx, WasteInput())
    assert out.status == "no_data" and out.total_monthly_savings is None and "allot demo" in out.message


def test_unknown_detector_lists_the_valid_names(ctx):
    small_world(ctx)
    with pytest.raises(ToolRetry) as err:
        waste_detectors(ctx, WasteInput(detector="overrequested"))
    assert "over_requested" in err.value.valid


def test_unknown_cluster_lists_the_known_ones(ctx):
    small_world(ctx)
    with pytest.raises(ToolRetry) as err:
        waste_detectors(ctx, WasteInput(cluster="c2"))
    assert err.value.valid == ["c1"]
    assert str(err.value) == "cluster 'c2' has no hourly data; known clusters: c1"


def test_window_outside_the_data_names_the_data_range(ctx):
    small_world(ctx)
    with pytest.raises(InputError, match="outside the data"):
        waste_detectors(ctx, WasteInput(window="2025-01-01..2025-01-08"))


def test_findings_sorted_by_savings_with_a_total(ctx):
    small_world(ctx)
    out = waste_detectors(ctx, WasteInput())
    assert out.status == "ok" and out.window_end.isoformat() == "2026-11-15T00:00:00"
    savings = [f.monthly_savings for f in out.findings]
    assert savings == sorted(savings, reverse=True)
    assert {f.detector for f in out.findings} == {"over_requested", "overprovisioned_node_pool"}
    assert out.total_monthly_savings == pytest.approx(sum(savings))
    only = waste_detectors(ctx, WasteInput(detector="over_requested"))
    assert [f.detector for f in only.findings] == ["over_requested"] and only.detectors == ["over_requested"]


def test_finding_ids_are_stable_across_runs(ctx):
    small_world(ctx)
    first = [f.id for f in waste_detectors(ctx, WasteInput()).findings]
    again = [f.id for f in waste_detectors(ctx, WasteInput()).findings]
    assert first == again and len(set(first)) == len(first)
    obj = ObjectRef(cluster="c1", namespace="shop", kind="Deployment", name="web")
    assert finding_id("over_requested", obj) == finding_id("over_requested", obj.model_copy())
    assert finding_id("over_requested", obj) != finding_id("idle_replicas", obj)


def test_cli_json_is_the_tool_output(tmp_path):
    from agent.cli import _register, app

    _register()
    db = tmp_path / "w.duckdb"
    ctx = Context.open(db, Settings())
    small_world(ctx)
    ctx.close()
    out = CliRunner().invoke(app, ["waste", "--db", str(db), "--json", "--detector", "over_requested"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["status"] == "ok" and payload["findings"][0]["object"]["name"] == "web"
    assert payload["findings"][0]["monthly_savings"] == pytest.approx(62.09, abs=0.005)
    table = CliRunner().invoke(app, ["waste", "--db", str(db)], env={"COLUMNS": "200"})
    assert "over_requested" in table.output and "62.09" in table.output


def _finding(detector, name, savings):
    from datetime import datetime

    from tools.detectors.finding import Evidence

    return Finding(detector=detector, title=name, object=ObjectRef(cluster="c1", namespace="ns", kind="Deployment",
                                                                   name=name),
                   evidence=Evidence(window_start=datetime(2026, 11, 1), window_end=datetime(2026, 11, 15)),
                   action="x", monthly_savings=savings, confidence="high")


def test_scoring_counts_recall_precision_savings_and_controls():
    truth = GroundTruth(
        stories=[Story(id="a", detector="over_requested", monthly_savings=100.0,
                       object=ObjectRef(cluster="c1", namespace="ns", kind="Deployment", name="a")),
                 Story(id="b", detector="idle_replicas", monthly_savings=50.0,
                       object=ObjectRef(cluster="c1", namespace="ns", kind="Deployment", name="b"))],
        controls=[ObjectRef(cluster="c1", namespace="ns", kind="Deployment", name="ok")])
    findings = [_finding("over_requested", "a", 95.0), _finding("over_requested", "ok", 10.0),
                _finding("idle_replicas", "a", 20.0)]
    card = score_findings(findings, truth)
    assert card.recall == 0.5                      # b missed
    assert card.precision == pytest.approx(1 / 3)  # 1 of 3 findings finds a story
    assert card.stories[0].savings_error == pytest.approx(-0.05)
    assert card.control_findings == ["over_requested c1:ns/deployment/ok"]
