"""FOCUS ingest on the real sample: totals, parsing, idempotency, restatements, formats."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

from tests.tools.sources.focus_files import cents, sample, tags_of, warehouse_state
from tools.context import Context
from tools.sources.focus import ingest_focus_files


def _totals(ctx: Context):
    count, billed, effective = ctx.db.execute(
        "SELECT count(*), sum(billed_cost), sum(effective_cost) FROM billing_rows"
    ).fetchall()[0]
    return count, cents(billed), cents(effective)


def test_sample_totals_match_an_independent_csv_sum(ctx, shared_data):
    table = sample(shared_data)
    expected_billed, expected_effective = cents(table.total("BilledCost")), cents(table.total("EffectiveCost"))
    assert (expected_billed, expected_effective) == (Decimal("20.52"), Decimal("14.98"))

    report = ingest_focus_files(ctx, [shared_data / "focus" / "focus_sample.csv"])

    assert report.rows["billing_rows"] == 1000
    assert _totals(ctx) == (len(table.rows), expected_billed, expected_effective)
    path = (shared_data / "focus" / "focus_sample.csv").resolve()
    files = ctx.db.execute("SELECT path, sha256, focus_version, row_count FROM billing_files").fetchall()
    assert files == [(str(path), hashlib.sha256(path.read_bytes()).hexdigest(), "1.0", 1000)]
    assert ctx.db.execute("SELECT source, row_count FROM billing_deliveries").fetchall() == [("focus", 1000)]
    assert ctx.db.execute("SELECT source, status FROM ingest_runs").fetchall() == [("focus", "ok")]


def test_sample_values_are_parsed_row_by_row(ctx, shared_data):
    table = sample(shared_data)
    ingest_focus_files(ctx, [shared_data / "focus" / "focus_sample.csv"])
    stored = ctx.db.execute(
        "SELECT source_row, extra->>'Id', billed_cost, charge_period_start, availability_zone, "
        "tags, region_id, service_provider_name FROM billing_rows ORDER BY source_row"
    ).fetchall()
    assert [r[0] for r in stored] == list(range(1, 1001))
    for (row_no, row_id, billed, start, zone, tags, region, provider), raw in zip(stored, table.rows):
        record = dict(zip(table.header, raw))
        # source_row is the 1-based data row: the non-FOCUS Id of that csv row is in `extra`.
        assert row_id == record["Id"], row_no
        assert abs(billed - float(record["BilledCost"])) < 1e-12
        # Zone-less timestamps are UTC and stored naive.
        assert start == datetime.strptime(record["ChargePeriodStart"], "%Y-%m-%d %H:%M:%S")
        # NULL literals are null.
        assert zone == (None if record["AvailabilityZone"] == "NULL" else record["AvailabilityZone"])
        assert region == (None if record["RegionId"] == "NULL" else record["RegionId"])
        assert provider == record["ProviderName"]
        # Tags keep their keys exactly, including the sample's " org" beside "org".
        expected_tags = tags_of(record["Tags"])
        assert tags == ({k: str(v) for k, v in expected_tags.items()} if expected_tags is not None else None)
    negatives = sum(1 for v in table.values("BilledCost") if Decimal(v) < 0)
    assert negatives > 0
    assert ctx.db.execute("SELECT count(*) FROM billing_rows WHERE billed_cost < 0").fetchall()[0][0] == negatives
    with_space_key = sum(1 for t in table.values("Tags") if " org" in (tags_of(t) or {}))
    assert with_space_key > 0
    assert ctx.db.execute(
        "SELECT count(*) FROM billing_rows WHERE tags[' org'] IS NOT NULL"
    ).fetchall()[0][0] == with_space_key


def test_ingesting_the_same_file_twice_changes_nothing(ctx, shared_data):
    path = shared_data / "focus" / "focus_sample.csv"
    ingest_focus_files(ctx, [path])
    before = warehouse_state(ctx.db)
    report = ingest_focus_files(ctx, [path])
    assert warehouse_state(ctx.db) == before
    assert report.rows["billing_rows"] == 0
    assert "nothing changed" in report.warnings[0]


def test_a_restated_period_replaces_the_older_rows_of_that_account(ctx, shared_data, tmp_path):
    table = sample(shared_data)
    ingest_focus_files(ctx, [shared_data / "focus" / "focus_sample.csv"])
    # The newer export restates account 1234567890123 for September 2024 with 10 rows at 3x cost.
    is_slice = lambda r: r["BillingAccountId"] == "1234567890123" and r["BillingPeriodStart"] == "2024-09-01 00:00:00"  # noqa: E731
    restated = table.where(is_slice)
    restated.rows = restated.rows[:10]
    billed = restated.col("BilledCost")
    for r in restated.rows:
        r[billed] = str(Decimal(r[billed]) * 3)
    untouched = table.where(lambda r: not is_slice(r))

    report = ingest_focus_files(ctx, [restated.write(tmp_path / "restated.csv")])

    assert report.rows == {"billing_rows": 10, "replaced billing_rows": 942, "billing_files": 1, "billing_deliveries": 1}
    assert "focus: 10 billing_rows, 942 replaced billing_rows" in report.lines()[0]
    count, total_billed, _ = _totals(ctx)
    assert count == len(untouched.rows) + 10 == 68
    assert total_billed == cents(untouched.total("BilledCost") + restated.total("BilledCost"))
    slice_rows = ctx.db.execute(
        "SELECT count(*), min(source_file) FROM billing_rows WHERE billing_account_id = '1234567890123'"
    ).fetchall()[0]
    assert slice_rows == (10, str((tmp_path / "restated.csv").resolve()))
    # The other account's October period and the Microsoft account are left alone.
    assert ctx.db.execute("SELECT count(*) FROM billing_rows WHERE billing_account_id = '20209880'").fetchall()[0][0] == 7


def test_csv_gzip_and_parquet_give_identical_totals(shared_data, tmp_path):
    source = shared_data / "focus" / "focus_sample.csv"
    gz = tmp_path / "focus_sample.csv.gz"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    parquet = _write_typed_parquet(sample(shared_data), tmp_path / "focus_sample.parquet")

    results = {}
    for name, path in {"csv": source, "gz": gz, "parquet": parquet}.items():
        ctx = Context.open(tmp_path / f"{name}.duckdb")
        try:
            ingest_focus_files(ctx, [path])
            results[name] = (
                _totals(ctx),
                ctx.db.execute(
                    "SELECT source_row, billed_cost, effective_cost, charge_period_start, tags "
                    "FROM billing_rows ORDER BY source_row"
                ).fetchall(),
                ctx.db.execute("SELECT focus_version FROM billing_files").fetchall(),
            )
        finally:
            ctx.close()
    assert results["csv"][0] == results["gz"][0] == results["parquet"][0] == (1000, Decimal("20.52"), Decimal("14.98"))
    assert results["csv"][1] == results["gz"][1]
    for a, b in zip(results["csv"][1], results["parquet"][1]):
        assert a[0] == b[0] and a[3] == b[3] and a[4] == b[4]
        assert abs(a[1] - b[1]) < 1e-12 and abs(a[2] - b[2]) < 1e-12


def _write_typed_parquet(table, path):
    """The sample as an exporter writes Parquet: typed numbers, zoned timestamps, Tags as a MAP."""
    numbers = {"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity",
               "PricingQuantity", "ListUnitPrice", "ContractedUnitPrice"}
    times = {"BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"}
    columns = {}
    for name in table.header:
        raw = [None if v == "NULL" else v for v in table.values(name)]
        if name in numbers:
            columns[name] = pa.array([None if v is None else float(v) for v in raw], pa.float64())
        elif name in times:
            columns[name] = pa.array(
                [datetime.strptime(v, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc) for v in raw],
                pa.timestamp("ms", tz="UTC"),
            )
        elif name == "Tags":
            columns[name] = pa.array(
                [None if v is None else [(k, str(x)) for k, x in json.loads(v).items()] for v in raw],
                pa.map_(pa.string(), pa.string()),
            )
        else:
            columns[name] = pa.array(raw, pa.string())
    pq.write_table(pa.table(columns), path)
    return path


def test_a_delivery_of_several_files_is_one_delivery(ctx, shared_data, tmp_path):
    table = sample(shared_data)
    aws = table.where(lambda r: r["ProviderName"] == "AWS").write(tmp_path / "aws.csv")
    rest = table.where(lambda r: r["ProviderName"] != "AWS").write(tmp_path / "rest.csv")
    report = ingest_focus_files(ctx, [aws, rest])
    assert report.rows == {"billing_rows": 1000, "billing_files": 2, "billing_deliveries": 1}
    assert _totals(ctx) == (1000, Decimal("20.52"), Decimal("14.98"))
    assert ctx.db.execute("SELECT count(DISTINCT delivery_id) FROM billing_rows").fetchall()[0][0] == 1
    assert ctx.db.execute("SELECT count(*) FROM billing_files").fetchall()[0][0] == 2


def test_parquet_tags_as_key_value_list(ctx, shared_data, tmp_path):
    """Tags as a list of {key, value} structs (BigQuery's label shape) become the same map."""
    table = sample(shared_data).where(lambda r: r["ProviderName"] == "Microsoft")
    columns = {name: pa.array([None if v == "NULL" else v for v in table.values(name)], pa.string())
               for name in table.header if name != "Tags"}
    pairs = [None if t == "NULL" else [{"key": k, "value": str(v)} for k, v in json.loads(t).items()]
             for t in table.values("Tags")]
    columns["Tags"] = pa.array(pairs, pa.list_(pa.struct([("key", pa.string()), ("value", pa.string())])))
    path = tmp_path / "kv.parquet"
    pq.write_table(pa.table(columns), path)
    ingest_focus_files(ctx, [path])
    stored = ctx.db.execute("SELECT tags FROM billing_rows ORDER BY source_row").fetchall()
    expected = [tags_of(t) for t in table.values("Tags")]
    assert [s[0] for s in stored] == [None if e is None else {k: str(v) for k, v in e.items()} for e in expected]
    assert any(" org" in (s[0] or {}) for s in stored)
