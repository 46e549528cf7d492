"""FOCUS versions: detection from the spec's own column lists, renamed columns, a 1.3 file."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.tools.sources.focus_files import cents, sample
from tools.sources.focus import ingest_focus_files
from tools.sources.focus_columns import detect_version


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_version_is_detected_from_the_columns_each_version_has(shared_data, version):
    with (shared_data / "focus" / "focus_columns_v1.0-1.2.csv").open(newline="") as handle:
        columns = [row["ColumnId"] for row in csv.DictReader(handle) if row[f"in_{version}"] == "True"]
    assert detect_version(columns) == version
    assert detect_version(columns + ["x_CustomColumn", "Id"]) == version


def test_pre_1_0_column_names_map_to_the_newest_columns(ctx, shared_data, tmp_path):
    table = sample(shared_data)
    renames = {
        "EffectiveCost": "AmortizedCost",
        "ChargeCategory": "ChargeType",
        "ConsumedQuantity": "UsageQuantity",
        "ConsumedUnit": "UsageUnit",
        "RegionId": "Region",
    }
    old = table.copy()
    for new, legacy in renames.items():
        old.rename(new, legacy)
    report = ingest_focus_files(ctx, [old.write(tmp_path / "focus_0_5_names.csv")])

    stored = ctx.db.execute(
        "SELECT effective_cost, charge_category, consumed_quantity, consumed_unit, region_id, "
        "service_provider_name, host_provider_name, focus_version FROM billing_rows ORDER BY source_row"
    ).fetchall()
    null = lambda v: None if v == "NULL" else v  # noqa: E731
    for got, raw in zip(stored, table.rows):
        r = dict(zip(table.header, raw))
        assert abs(got[0] - float(r["EffectiveCost"])) < 1e-12
        assert got[1:7] == (
            r["ChargeCategory"],
            None if r["ConsumedQuantity"] == "NULL" else pytest.approx(float(r["ConsumedQuantity"])),
            null(r["ConsumedUnit"]),
            null(r["RegionId"]),
            r["ProviderName"],
            r["PublisherName"],
        )
        assert got[7] == "1.0"
    assert cents(sum(g[0] for g in stored)) == cents(table.total("EffectiveCost")) == Decimal("14.98")
    assert any("AmortizedCost -> EffectiveCost" in w and "ChargeType -> ChargeCategory" in w for w in report.warnings)


def test_a_focus_1_3_file(ctx, shared_data, tmp_path):
    table = sample(shared_data).where(lambda r: r["ProviderName"] == "Microsoft")
    assert len(table.rows) == 51
    # 1.3: ServiceProviderName/HostProviderName replace the deprecated ProviderName/PublisherName
    # (which 1.3 still carries), plus ContractApplied and the Allocated* columns.
    v13 = table.copy()
    v13.add("ServiceProviderName", lambda n, r: "Microsoft Azure")
    v13.add("HostProviderName", lambda n, r: "Microsoft Azure Host")
    v13.add("ContractApplied", lambda n, r: json.dumps({"Elements": [{"ContractId": "c-1"}]}) if n == 0 else "NULL")
    v13.add("AllocatedMethodId", lambda n, r: "NULL")
    v13.add("AllocatedResourceId", lambda n, r: "NULL")
    v13.add("x_SkuMeterCategory", lambda n, r: f"meter-{n}")
    # Timestamps written with a zone, as Parquet-to-CSV converters do: converted to UTC.
    start = v13.col("ChargePeriodStart")
    for r in v13.rows:
        naive = datetime.strptime(r[start], "%Y-%m-%d %H:%M:%S")
        r[start] = (naive + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00")
    ingest_focus_files(ctx, [v13.write(tmp_path / "focus_1_3.csv")])

    stored = ctx.db.execute(
        "SELECT focus_version, service_provider_name, host_provider_name, charge_period_start, "
        "extra->>'ProviderName', extra->>'ContractApplied', extra->>'x_SkuMeterCategory' "
        "FROM billing_rows ORDER BY source_row"
    ).fetchall()
    assert {s[0:3] for s in stored} == {("1.3", "Microsoft Azure", "Microsoft Azure Host")}
    for n, (got, raw) in enumerate(zip(stored, table.rows)):
        r = dict(zip(table.header, raw))
        assert got[3] == datetime.strptime(r["ChargePeriodStart"], "%Y-%m-%d %H:%M:%S")
        assert got[4] == "Microsoft"  # the deprecated name is kept, not lost
        assert got[6] == f"meter-{n}"
    assert json.loads(stored[0][5]) == {"Elements": [{"ContractId": "c-1"}]}
    assert stored[1][5] is None
    assert ctx.db.execute("SELECT focus_version FROM billing_files").fetchall() == [("1.3",)]
    total = ctx.db.execute("SELECT sum(billed_cost) FROM billing_rows").fetchall()[0][0]
    assert cents(total) == cents(table.total("BilledCost"))
