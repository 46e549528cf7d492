"""billing_query on the real FOCUS sample; expected figures come from the csv module."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest
from pydantic import ValidationError

from tests.tools.sources.focus_files import FocusTable, sample, tags_of
from tools.billing_query import BillingQueryInput, billing_query
from tools.errors import ToolRetry
from tools.sources.focus import ingest_focus_files


@pytest.fixture
def table(shared_data) -> FocusTable:
    return sample(shared_data)


@pytest.fixture
def loaded(ctx, shared_data):
    ingest_focus_files(ctx, [shared_data / "focus" / "focus_sample.csv"])
    return ctx


def _expected_by(table: FocusTable, key_of) -> dict[str, tuple[Decimal, Decimal, int]]:
    sums: dict[str, list] = defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    for raw in table.rows:
        r = dict(zip(table.header, raw))
        s = sums[key_of(r)]
        s[0] += Decimal(r["BilledCost"])
        s[1] += Decimal(r["EffectiveCost"])
        s[2] += 1
    return {k: (v[0], v[1], v[2]) for k, v in sums.items()}


def _close(got: float, expected: Decimal) -> bool:
    return abs(Decimal(str(got)) - expected) < Decimal("1e-9")


def test_group_by_service_matches_an_independent_csv_sum(loaded, table):
    expected = _expected_by(table, lambda r: r["ServiceName"])
    out = billing_query(loaded, BillingQueryInput(window="all", group_by="service"))
    assert out.status == "ok" and out.currency == "USD"
    assert {g.key for g in out.rows} == set(expected)
    for g in out.rows:
        billed, effective, rows = expected[g.key]
        assert _close(g.billed_cost, billed) and _close(g.effective_cost, effective) and g.rows == rows, g.key
    assert round(out.totals.billed_cost, 2) == 20.52 and round(out.totals.effective_cost, 2) == 14.98
    assert out.totals.rows == 1000
    # Largest effective cost first (the default cost basis).
    assert [g.effective_cost for g in out.rows] == sorted((g.effective_cost for g in out.rows), reverse=True)
    assert out.rows[0].key == "Amazon Elastic Compute Cloud"


def test_explicit_window_keeps_rows_charged_inside_it(loaded, table):
    inside = table.where(lambda r: "2024-09-01" <= r["ChargePeriodStart"][:10] < "2024-09-08")
    out = billing_query(loaded, BillingQueryInput(window="2024-09-01..2024-09-08", group_by="charge_category"))
    assert out.status == "ok"
    assert out.totals.rows == len(inside.rows) > 0
    assert _close(out.totals.billed_cost, inside.total("BilledCost"))
    assert _close(out.totals.effective_cost, inside.total("EffectiveCost"))
    assert (out.window.start.isoformat(), out.window.end.isoformat()) == ("2024-09-01T00:00:00", "2024-09-08T00:00:00")


def test_window_outside_the_bill_is_no_data_with_the_range_never_zero(loaded):
    out = billing_query(loaded, BillingQueryInput(window="2025-01-01..2025-02-01", group_by="service"))
    assert out.status == "no_data"
    assert out.rows == [] and out.totals is None
    assert "2024-09-01 00:00 .. 2024-10-01 00:00" in out.reason


def test_empty_warehouse_is_no_data(ctx):
    out = billing_query(ctx, BillingQueryInput())
    assert out.status == "no_data" and "allot ingest focus" in out.reason and out.totals is None


def test_filter_that_matches_nothing_is_no_data(loaded):
    out = billing_query(loaded, BillingQueryInput(service="No Such Service"))
    assert out.status == "no_data" and "service='No Such Service'" in out.reason


def test_group_by_tag_and_filter_by_service(loaded, table):
    ec2 = table.where(lambda r: r["ServiceName"] == "Amazon Elastic Compute Cloud")
    expected = _expected_by(ec2, lambda r: (tags_of(r["Tags"]) or {}).get("application", "(no application tag)"))
    out = billing_query(loaded, BillingQueryInput(group_by="tag:application", service="Amazon Elastic Compute Cloud"))
    assert {g.key: g.rows for g in out.rows} == {k: v[2] for k, v in expected.items()}
    for g in out.rows:
        assert _close(g.billed_cost, expected[g.key][0])


def test_group_by_cluster_reads_the_cluster_tags(ctx, table, tmp_path):
    # A hand-made bill: one row per cluster-tag convention, and one without any.
    rows = table.where(lambda r: r["ProviderName"] == "AWS")
    rows.rows = rows.rows[:7]
    tags = rows.col("Tags")
    billed = rows.col("BilledCost")
    effective = rows.col("EffectiveCost")
    conventions = [
        {"eks:cluster-name": "eks-prod"},
        {"aws:eks:cluster-name": "eks-prod", "team": "a"},
        {"kubernetes.io/cluster/eks-dev": "owned"},
        {"goog-k8s-cluster-name": "gke-ml"},
        {"aks-managed-cluster-name": "aks-web"},
        {"kubernetes_cluster": "onprem"},
        {"team": "b"},
    ]
    for n, (r, t) in enumerate(zip(rows.rows, conventions)):
        r[tags] = json.dumps(t)
        r[billed] = r[effective] = str(n + 1)
    ingest_focus_files(ctx, [rows.write(tmp_path / "clusters.csv")])
    out = billing_query(ctx, BillingQueryInput(group_by="cluster"))
    assert {g.key: g.billed_cost for g in out.rows} == {
        "eks-prod": 3.0, "eks-dev": 3.0, "gke-ml": 4.0, "aks-web": 5.0, "onprem": 6.0, "(no cluster)": 7.0,
    }
    only = billing_query(ctx, BillingQueryInput(group_by="service", cluster="eks-prod"))
    assert only.totals.billed_cost == 3.0 and only.totals.rows == 2


def test_sample_cluster_grouping_finds_the_aks_cluster(loaded, table):
    aks = [r for r in table.rows if "aks-managed-cluster-name" in (tags_of(r[table.col("Tags")]) or {})]
    out = billing_query(loaded, BillingQueryInput(group_by="cluster"))
    keys = {g.key: g.rows for g in out.rows}
    assert keys == {"AnalyticsEngine": len(aks), "(no cluster)": 1000 - len(aks)}


def test_several_currencies_ask_for_one(loaded, table, tmp_path):
    eur = table.where(lambda r: r["ProviderName"] == "Oracle")
    currency = eur.col("BillingCurrency")
    account = eur.col("BillingAccountId")
    for r in eur.rows:
        r[currency], r[account] = "EUR", "eu-account"
    ingest_focus_files(loaded, [eur.write(tmp_path / "eur.csv")])
    with pytest.raises(ToolRetry) as err:
        billing_query(loaded, BillingQueryInput(group_by="account"))
    assert err.value.valid == ["EUR", "USD"]
    out = billing_query(loaded, BillingQueryInput(group_by="account", currency="EUR"))
    assert out.currency == "EUR" and out.totals.rows == 7
    assert {g.key for g in out.rows} == set(eur.values("SubAccountId"))


def test_limit_keeps_totals_over_every_row(loaded):
    out = billing_query(loaded, BillingQueryInput(group_by="service", limit=2))
    assert len(out.rows) == 2 and out.totals.rows == 1000


def test_bad_arguments_are_refused():
    with pytest.raises(ValidationError):
        BillingQueryInput(group_by="namespace")
    with pytest.raises(ValidationError):
        BillingQueryInput(start="2024-09-01T00:00:00")


def test_named_window_is_anchored_to_the_data(loaded, table):
    # The sample ends 2024-10-01 00:00, so this-week is 2024-09-24 .. 2024-10-01.
    week = table.where(lambda r: "2024-09-24" <= r["ChargePeriodStart"][:10] < "2024-10-01")
    out = billing_query(loaded, BillingQueryInput(window="this-week"))
    assert (out.window.start.isoformat(), out.window.end.isoformat()) == ("2024-09-24T00:00:00", "2024-10-01T00:00:00")
    assert out.totals.rows == len(week.rows) and _close(out.totals.billed_cost, week.total("BilledCost"))
