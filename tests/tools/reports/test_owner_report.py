"""Report totals equal the allocation to the cent; shared and idle splits follow the named policy."""

from __future__ import annotations

import csv
import io

import pytest

from tests.tools.reports.report_world import build
from tools.errors import InputError
from tools.reports.owner_report import ReportInput, owner_report
from tools.reports.render import render_report

WINDOW = ("2026-11-16", "2026-11-23")


@pytest.fixture
def world(ctx):
    build(ctx)
    return ctx


def _allocated(ctx, start="2026-11-16", end="2026-11-23") -> float:
    """The allocation total, summed independently with plain SQL."""
    return ctx.db.execute("SELECT sum(cost) FROM allocation_hours WHERE hour >= ?::TIMESTAMP AND hour < ?::TIMESTAMP",
                          [start, end]).fetchone()[0]


@pytest.mark.parametrize("by", ["owner", "team", "namespace", "cost_center"])
@pytest.mark.parametrize("policy", ["proportional", "even", "none"])
def test_report_total_equals_allocation_total_to_the_cent(world, by, policy):
    report = owner_report(world, ReportInput(by=by, window="7d", shared_policy=policy))
    assert report.status == "ok"
    assert round(report.total, 2) == round(_allocated(world), 2) == 1507.80
    assert round(sum(r.total for r in report.rows), 2) == 1507.80
    assert round(report.previous_total, 2) == round(_allocated(world, "2026-11-09", "2026-11-16"), 2)
    parsed = list(csv.DictReader(io.StringIO(render_report(report, "csv"))))
    assert round(sum(float(r["total"]) for r in parsed), 2) == 1507.80


def test_owner_rows_hand_worked(world):
    """Week 2 per hour: frontend 1.00, api 0.80, tmp 0.20 (general, idle 0.30); evals 5.00 (gpu, idle 1.00);
    shared 0.40 + 0.10. Idle splits per pool by direct cost; shared 0.50 by direct cost 7.00."""
    report = owner_report(world, ReportInput(by="owner", window="7d"))
    rows = {r.key: r for r in report.rows}
    hours = 168
    assert rows["web-team"].direct == pytest.approx(1.00 * hours)
    assert rows["web-team"].idle == pytest.approx(0.30 * 1.00 / 2.00 * hours)
    assert rows["web-team"].shared == pytest.approx(0.50 * 1.00 / 7.00 * hours)
    assert rows["ml-platform"].idle == pytest.approx(1.00 * hours)
    assert rows["unowned"].direct == pytest.approx(0.20 * hours)  # scratch/tmp has no owner label
    assert rows["ml-platform"].previous_total == pytest.approx((2.00 + 1.00 + 0.50 * 2.00 / 3.70) * hours)
    assert report.top_movers[0].key == "ml-platform"
    assert "proportion to each group's direct cost" in report.policy_text


def test_policy_none_keeps_shared_and_idle_visible(world):
    rows = {r.key: r for r in owner_report(world, ReportInput(by="team", window="7d", shared_policy="none")).rows}
    assert rows["__shared__"].direct == pytest.approx(0.50 * 168) and rows["__shared__"].kind == "residual"
    assert rows["__idle__"].direct == pytest.approx(1.30 * 168)
    assert rows["(no team)"].direct == pytest.approx(0.20 * 168)


def test_weights_policy_needs_team_grouping(world):
    with pytest.raises(InputError, match="use it with --by team"):
        owner_report(world, ReportInput(by="owner", window="7d", shared_policy="weights"))


def test_label_coverage_and_ai_split(world):
    report = owner_report(world, ReportInput(by="owner", window="7d"))
    direct = (1.00 + 0.80 + 0.20 + 5.00) * 168
    assert report.coverage.direct_cost == pytest.approx(direct)
    assert report.coverage.share["owner"] == pytest.approx(100 * (direct - 0.20 * 168) / direct)
    assert report.coverage.share["cost_center"] == pytest.approx(100 * (1.00 + 5.00) / 7.00)
    assert [(u.name, u.missing) for u in report.coverage.top_unlabelled] == [
        ("api", ["cost_center"]), ("tmp", ["owner", "team", "service", "env", "cost_center", "workload_type"])]
    assert report.ai.ai_cost == pytest.approx((5.00 + 1.00) * 168)  # eval workload + idle of the GPU pool
    assert report.ai.ai_cost + report.ai.core_cost == pytest.approx(_allocated(world))
    assert report.ai.previous_ai_cost == pytest.approx(3.00 * 168)


def test_window_without_data_is_no_data_not_zero(world):
    with pytest.raises(InputError, match="outside the data"):
        owner_report(world, ReportInput(by="owner", window="2025-01-01..2025-01-08"))
    report = owner_report(world, ReportInput(by="owner", window="7d", cluster="gke"))
    assert report.status == "ok"


def test_daily_chart_points_add_up_to_the_total(world):
    report = owner_report(world, ReportInput(by="owner", window="7d"))
    assert len(report.daily) == 7
    assert sum(sum(d.costs.values()) for d in report.daily) == pytest.approx(report.total)
    assert report.daily[0].costs["ml-platform"] == pytest.approx(24 * (5.00 + 1.00 + 0.50 * 5.00 / 7.00))
