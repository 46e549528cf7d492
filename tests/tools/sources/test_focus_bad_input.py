"""Bad FOCUS input: a clear InputError naming file, row, column and fix; warehouse unchanged.

Every bad file is a restatement of the sample's AWS slice at double cost, so that accepting
any part of it would visibly change the warehouse.
"""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest

from tests.tools.sources.focus_files import sample, warehouse_state
from tools.errors import InputError
from tools.sources.focus import ingest_focus_files


@pytest.fixture
def loaded(ctx, shared_data):
    ingest_focus_files(ctx, [shared_data / "focus" / "focus_sample.csv"])
    return ctx


@pytest.fixture
def restated(shared_data):
    table = sample(shared_data).where(lambda r: r["BillingAccountId"] == "1234567890123")
    billed = table.col("BilledCost")
    for r in table.rows:
        r[billed] = str(Decimal(r[billed]) * 2)
    return table


def _refused(ctx, paths, *expected: str) -> str:
    before = warehouse_state(ctx.db)
    with pytest.raises(InputError) as err:
        ingest_focus_files(ctx, paths)
    message = str(err.value)
    for text in expected:
        assert text in message, message
    assert warehouse_state(ctx.db) == before
    return message


def test_the_restatement_itself_would_change_the_warehouse(loaded, restated, tmp_path):
    before = warehouse_state(loaded.db)
    ingest_focus_files(loaded, [restated.write(tmp_path / "good.csv")])
    assert warehouse_state(loaded.db) != before


def test_missing_mandatory_column_is_named_with_the_columns_found(loaded, restated, tmp_path):
    path = restated.drop("BilledCost").write(tmp_path / "no_billed.csv")
    message = _refused(loaded, [path], "no_billed.csv", "missing mandatory FOCUS column(s) BilledCost",
                       "Found 43 columns", "EffectiveCost", "Fix:")
    assert "BilledCost," not in message.split("Found")[1]


def test_non_numeric_cost_names_file_row_column_and_value(loaded, restated, tmp_path):
    restated.rows[16][restated.col("EffectiveCost")] = "12,34 USD"
    path = restated.write(tmp_path / "bad_cost.csv")
    _refused(loaded, [path], "bad_cost.csv", "data row 17", "column EffectiveCost", "'12,34 USD'",
             "is not a number", "Fix:")


def test_unparseable_timestamp_is_named(loaded, restated, tmp_path):
    restated.rows[3][restated.col("ChargePeriodStart")] = "18/09/2024 22:00"
    _refused(loaded, [restated.write(tmp_path / "bad_time.csv")], "data row 4", "ChargePeriodStart",
             "'18/09/2024 22:00'", "is not a timestamp")


def test_missing_required_value_is_named(loaded, restated, tmp_path):
    restated.rows[9][restated.col("BillingCurrency")] = "NULL"
    _refused(loaded, [restated.write(tmp_path / "no_currency.csv")], "data row 10", "BillingCurrency", "is empty")


def test_truncated_gzip(loaded, restated, tmp_path):
    data = gzip.compress(restated.write(tmp_path / "full.csv").read_bytes())
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(data[: len(data) // 2])
    _refused(loaded, [path], "cut.csv.gz", "gzip", "truncated or corrupt", "Fix:")


def test_mixed_currencies_are_refused_and_named(loaded, restated, tmp_path):
    currency = restated.col("BillingCurrency")
    for r in restated.rows[:3]:
        r[currency] = "EUR"
    _refused(loaded, [restated.write(tmp_path / "mixed.csv")], "mixes billing currencies",
             "EUR (3 rows", "USD (939 rows", "Fix:")


def test_exact_duplicate_rows_are_refused_with_their_row_numbers(loaded, restated, tmp_path):
    restated.rows.append(list(restated.rows[4]))
    count = len(restated.rows)
    _refused(loaded, [restated.write(tmp_path / "dups.csv")], "dups.csv", "duplicated rows",
             f"data rows 5, {count}", "Fix:")


def test_invalid_tags_json_is_named(loaded, restated, tmp_path):
    restated.rows[1][restated.col("Tags")] = '{"team": "data"'
    _refused(loaded, [restated.write(tmp_path / "tags.csv")], "data row 2", "column Tags", "JSON object")


def test_empty_file_and_header_only_file(loaded, restated, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    _refused(loaded, [empty], "empty.csv", "empty (0 bytes)")
    restated.rows = []
    _refused(loaded, [restated.write(tmp_path / "header.csv")], "header.csv", "no data rows")


def test_one_bad_file_refuses_the_whole_delivery(loaded, restated, tmp_path):
    good = restated.write(tmp_path / "good.csv")
    bad = tmp_path / "bad.csv.gz"
    bad.write_bytes(gzip.compress(good.read_bytes())[:200])
    _refused(loaded, [good, bad], "bad.csv.gz")


def test_the_same_file_twice_in_one_call(loaded, restated, tmp_path):
    a = restated.write(tmp_path / "a.csv")
    b = restated.write(tmp_path / "b.csv")
    _refused(loaded, [a, b], "a.csv", "b.csv", "same content")


def test_truncated_parquet(loaded, restated, tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    full = tmp_path / "full.parquet"
    pq.write_table(pacsv.read_csv(restated.write(tmp_path / "r.csv")), full)
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size - 100])
    _refused(loaded, [cut], "cut.parquet", "Parquet", "Fix:")
