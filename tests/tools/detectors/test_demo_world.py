"""The demo world: every planted waste story found, savings within 10%, nothing on the controls.

Expected objects and savings come from the demo's ground_truth.json, which the generator
computes from the prices it wrote into the bill (not from the allocation or the detectors).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tools.detectors.scoring import load_ground_truth, matches, score_findings
from tools.waste_detectors import WasteInput, waste_detectors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(demo_ctx):
    ctx, _, folder = demo_ctx
    result = waste_detectors(ctx, WasteInput())
    return ctx, result, load_ground_truth(ctx), folder / "demo.duckdb"


def test_every_planted_story_is_found_with_savings_within_ten_percent(demo):
    _, result, truth, _ = demo
    assert result.status == "ok"
    assert len(truth.stories) >= 13
    for story in truth.stories:
        hits = [f for f in result.findings if f.detector == story.detector and matches(story.object, f)]
        assert hits, f"{story.id}: no {story.detector} finding on {story.object.label()}"
        if story.monthly_savings is not None:
            found = sum(f.monthly_savings for f in hits)
            assert found == pytest.approx(story.monthly_savings, rel=0.10), story.id


def test_no_findings_on_the_healthy_controls(demo):
    _, result, truth, _ = demo
    assert truth.controls
    on_controls = [f.object.label() for f in result.findings for c in truth.controls if matches(c, f)]
    assert on_controls == []


def test_hpa_scaled_control_is_skipped_with_its_hpa_named(demo):
    _, result, _, _ = demo
    assert any(s.object.name == "web" and s.object.namespace == "storefront" and "HPA" in s.reason
               for s in result.skipped)


def test_score_meets_the_target(demo):
    _, result, truth, _ = demo
    card = score_findings(result.findings, truth)
    assert card.recall == 1.0
    assert card.precision >= 0.9
    assert card.control_findings == []
    assert card.max_savings_error <= 0.10


def test_cli_prints_the_score(demo):
    from agent.cli import _register, app

    _register()
    _, _, _, db = demo
    out = CliRunner().invoke(app, ["waste", "--db", str(db), "--score", "--json"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output)
    assert payload["score"]["recall"] == 1.0 and payload["score"]["precision"] >= 0.9
    text = CliRunner().invoke(app, ["waste", "--db", str(db), "--score"])
    assert "recall 1.00" in text.output
