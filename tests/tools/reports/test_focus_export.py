"""FOCUS 1.3 export: every split origin charge's AllocatedRatio values sum to 1; totals equal the bill."""

from __future__ import annotations

import csv
import json
from collections import defaultdict

import pytest

from tests.tools.reports.report_world import build
from tools.reports.focus_export import HEADER, export_focus
from tools.windows import parse_window


@pytest.fixture
def exported(ctx, tmp_path):
    build(ctx)
    with open(tmp_path / "focus.csv", "w", newline="") as out:
        summary = export_focus(ctx, parse_window(ctx, "7d"), out)
    assert summary.status == "ok"
    with open(tmp_path / "focus.csv", newline="") as fh:
        return ctx, summary, list(csv.DictReader(fh))


def test_columns_are_focus_1_3_allocated_columns(exported):
    _, _, rows = exported
    for column in ("AllocatedMethodId", "AllocatedMethodDetails", "AllocatedResourceId", "AllocatedResourceName",
                   "AllocatedTags", "BilledCost", "EffectiveCost", "ChargePeriodStart", "ResourceId"):
        assert column in rows[0] and column in HEADER


def test_ratios_sum_to_one_per_origin_charge(exported):
    _, summary, rows = exported
    ratio = defaultdict(float)
    for row in rows:
        if row["AllocatedMethodId"]:
            details = json.loads(row["AllocatedMethodDetails"])
            ratio[row["x_OriginChargeId"]] += sum(e["AllocatedRatio"] for e in details["Elements"])
            assert float(row["x_AllocatedRatio"]) == pytest.approx(sum(e["AllocatedRatio"] for e in details["Elements"]))
    assert len(ratio) == summary.split_charges == 28  # 4 cluster resources x 7 days
    for origin, total in ratio.items():
        assert total == pytest.approx(1.0, abs=1e-9), origin


def test_totals_equal_the_bill_and_the_allocation(exported):
    ctx, summary, rows = exported
    bill = ctx.db.execute("SELECT sum(billed_cost), sum(effective_cost), count(*) FROM billing_rows "
                          "WHERE charge_period_start >= '2026-11-16' AND charge_period_start < '2026-11-23'").fetchone()
    assert round(sum(float(r["BilledCost"]) for r in rows), 2) == round(bill[0], 2) == 1507.80
    assert round(sum(float(r["EffectiveCost"]) for r in rows), 2) == round(bill[1], 2)
    assert summary.origin_charges == bill[2] == 35
    by_target = defaultdict(float)
    for r in rows:
        by_target[r["AllocatedResourceId"]] += float(r["BilledCost"])
    # each bucket receives what the allocation gave it (the bill reconciles with it here)
    assert round(by_target["k8s://gke/ai-evals/CronJob/nightly-evals"], 2) == 840.00
    assert round(by_target["k8s://gke/node-pool/gpu/__idle__"], 2) == 168.00
    assert round(by_target["k8s://gke/web/Deployment/frontend"], 2) == 168.00
    assert round(by_target[""], 2) == 21.00  # BigQuery: out of cluster, not split


def test_allocated_tags_carry_the_owner_labels(exported):
    _, _, rows = exported
    evals = next(r for r in rows if r["AllocatedResourceId"] == "k8s://gke/ai-evals/CronJob/nightly-evals")
    tags = json.loads(evals["AllocatedTags"])
    assert tags["k8s/owner"] == "ml-platform" and tags["allot/node_pool"] == "gpu"
    assert evals["AllocatedResourceName"] == "ai-evals/nightly-evals"
    assert json.loads(evals["AllocatedMethodDetails"])["Elements"][0]["UsageUnit"] == "GPU"
    bq = next(r for r in rows if r["ServiceName"] == "BigQuery")
    assert bq["AllocatedMethodId"] == "" and bq["AllocatedMethodDetails"] == ""
