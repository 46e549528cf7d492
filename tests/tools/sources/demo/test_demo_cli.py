"""`allot demo` end to end into a temporary warehouse, twice: the same numbers both times."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tools.context import Context
from tools.settings import Settings

pytestmark = pytest.mark.slow


def _app():
    from agent.cli import _register, app

    _register()
    return app


def _state(db) -> dict:
    ctx = Context.open(db, Settings())
    try:
        q = ctx.db.execute
        return {
            "billing_rows": q("SELECT count(*), round(sum(billed_cost), 4) FROM billing_rows").fetchone(),
            "pod_hours": q("SELECT count(*) FROM pod_hours").fetchone()[0],
            "by_cluster": dict(q("SELECT cluster, round(sum(cost), 4) FROM allocation_hours GROUP BY 1").fetchall()),
            "allocation_rows": q("SELECT count(*) FROM allocation_hours").fetchone()[0],
            "demo_runs": q("SELECT count(*) FROM ingest_runs WHERE source = 'demo'").fetchone()[0],
        }
    finally:
        ctx.close()


def test_allot_demo_ingests_allocates_and_replaces_itself(tmp_path):
    app = _app()
    db = tmp_path / "w.duckdb"
    first = CliRunner().invoke(app, ["demo", "--db", str(db), "--json"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["out_dir"] == str(tmp_path / "worlds" / "demo")
    truth = json.loads((tmp_path / "worlds" / "demo" / "ground_truth.json").read_text())
    assert summary["pod_hours"] == sum(c["pod_hours"] for c in truth["clusters"]) >= 50_000
    assert abs(summary["allocated_total"] - truth["effective_total"]) < 0.01

    state = _state(db)
    assert state["billing_rows"][0] == summary["billing_rows"]
    assert abs(state["billing_rows"][1] - truth["billed_total"]) < 0.01
    for cluster in truth["clusters"]:
        assert abs(state["by_cluster"][cluster["cluster"]] - cluster["effective_total"]) < 0.01
    assert state["pod_hours"] > 0

    again = CliRunner().invoke(app, ["demo", "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert "pod-hours" in again.output and "total" in again.output
    second = _state(db)
    assert second["demo_runs"] == 2
    first_state = {k: v for k, v in state.items() if k != "demo_runs"}
    assert {k: v for k, v in second.items() if k != "demo_runs"} == first_state
