"""Windows are anchored to the data: hand-picked hours, hand-computed bounds."""

from __future__ import annotations

from datetime import datetime

import pytest

from tools.errors import InputError
from tools.windows import Window, data_range, parse_window


def _pod_hour(ctx, cluster: str, hour: datetime) -> None:
    ctx.db.execute(
        "INSERT INTO pod_hours (cluster, hour, namespace, pod, node, workload_kind, workload_name, "
        "fraction, cpu_request, memory_request, gpu_request) VALUES (?, ?, 'ns', 'p', 'n', 'Pod', 'p', 1, 1, 1, 0)",
        [cluster, hour],
    )


@pytest.fixture
def data(ctx):
    # Data from Sat 2026-11-07 00:00 to Fri 2026-11-27 23:00 (the last full day is Nov 27),
    # plus a partial day on Nov 28 up to 11:00 in another cluster.
    _pod_hour(ctx, "gke", datetime(2026, 11, 7, 0))
    _pod_hour(ctx, "gke", datetime(2026, 11, 27, 23))
    _pod_hour(ctx, "eks", datetime(2026, 11, 28, 11))
    return ctx


def test_this_week_is_last_seven_full_days(data):
    w = parse_window(data, "this-week")
    # max hour 2026-11-28 11:00 + 1h = 12:00, truncated to the day -> 2026-11-28 00:00
    assert (w.start, w.end, w.label) == (datetime(2026, 11, 21), datetime(2026, 11, 28), "this-week")
    assert w.hours == 168


def test_this_week_per_cluster(data):
    w = parse_window(data, "this-week", cluster="gke")
    # gke ends at 2026-11-27 23:00 + 1h = 2026-11-28 00:00 exactly
    assert (w.start, w.end) == (datetime(2026, 11, 21), datetime(2026, 11, 28))
    rng = data_range(data, "eks")
    assert (rng.first, rng.last_end) == (datetime(2026, 11, 28, 11), datetime(2026, 11, 28, 12))


def test_previous_week_and_relative_to(data):
    prev = parse_window(data, "previous-week")
    assert (prev.start, prev.end) == (datetime(2026, 11, 14), datetime(2026, 11, 21))
    cur = parse_window(data, "2026-11-20..2026-11-23")
    rel = parse_window(data, "previous-week", relative_to=cur)
    assert (rel.start, rel.end) == (datetime(2026, 11, 13), datetime(2026, 11, 20))
    same_length = parse_window(data, "previous", relative_to=cur)
    assert (same_length.start, same_length.end) == (datetime(2026, 11, 17), datetime(2026, 11, 20))


def test_last_n_days(data):
    w = parse_window(data, "last-30d")
    assert (w.start, w.end) == (datetime(2026, 10, 29), datetime(2026, 11, 28))
    w = parse_window(data, "3d")
    assert (w.start, w.end) == (datetime(2026, 11, 25), datetime(2026, 11, 28))


def test_iso_week_starts_monday(data):
    w = parse_window(data, "2026-W47")
    # 2026-11-16 is a Monday (ISO week 47 of 2026)
    assert (w.start, w.end) == (datetime(2026, 11, 16), datetime(2026, 11, 23))
    assert w.start.weekday() == 0


def test_explicit_dates_and_datetimes(data):
    w = parse_window(data, "2026-11-10..2026-11-12")
    assert (w.start, w.end) == (datetime(2026, 11, 10), datetime(2026, 11, 12))
    w = parse_window(data, "2026-11-10T06:00..2026-11-10T18:30")
    assert (w.start, w.end) == (datetime(2026, 11, 10, 6), datetime(2026, 11, 10, 18, 30))
    w = parse_window(data, "2026-11-10T06:00:00Z..2026-11-10T08:00:00+01:00")
    assert (w.start, w.end) == (datetime(2026, 11, 10, 6), datetime(2026, 11, 10, 7))


def test_all(data):
    w = parse_window(data, "all")
    assert (w.start, w.end) == (datetime(2026, 11, 7), datetime(2026, 11, 28, 12))


def test_window_outside_data_names_the_range(data):
    with pytest.raises(InputError) as err:
        parse_window(data, "2026-W40")
    msg = str(err.value)
    assert "2026-11-07 00:00" in msg and "2026-11-28 12:00" in msg
    with pytest.raises(InputError):
        parse_window(data, "2026-12-01..2026-12-05")


def test_bad_expressions(data):
    for text in ("yesterday-ish", "2026-W60", "2026-11-12..2026-11-10", "2026-13-01..2026-13-02", "0d"):
        with pytest.raises(InputError):
            parse_window(data, text)


def test_empty_warehouse_is_an_error(ctx):
    with pytest.raises(InputError, match="no hourly data"):
        parse_window(ctx, "this-week")


def test_billing_rows_anchor_too(ctx):
    ctx.db.execute(
        "INSERT INTO billing_rows (delivery_id, source_file, source_row, focus_version, charge_period_start, "
        "charge_period_end, billed_cost, effective_cost, billing_currency) VALUES "
        "('d', 'f', 1, '1.0', '2026-11-20 00:00', '2026-11-21 00:00', 1, 1, 'USD'),"
        # a monthly row must not stretch the data end
        "('d', 'f', 2, '1.0', '2026-11-01 00:00', '2026-12-01 00:00', 1, 1, 'USD')"
    )
    w = parse_window(ctx, "1d")
    assert (w.start, w.end) == (datetime(2026, 11, 20), datetime(2026, 11, 21))


def test_window_model_rejects_reversed_bounds():
    with pytest.raises(ValueError):
        Window(start=datetime(2026, 1, 2), end=datetime(2026, 1, 1))
