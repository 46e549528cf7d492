"""Time windows: what ``this-week``, ``previous-week``, ``2026-W47`` or ``A..B`` mean.

A :class:`Window` is the half-open interval ``[start, end)`` in naive UTC, with the label the
user typed. Relative names are anchored to the data, not the wall clock (DESIGN.md: "this
week" is the last 7 full days in the data):

* the *data end* is the latest hour present in ``pod_hours``, ``allocation_hours`` or the
  bill (``billing_rows`` with a charge period of at most one day), plus one hour, truncated
  to the day: the first hour after the last *full* day;
* ``this-week``      the 7 days ending at the data end;
* ``previous-week``  the 7 days before ``this-week`` (or before ``relative_to`` when given);
* ``last-30d``, ``30d``, ``Nd``, ``last-Nd``  the last N full days;
* ``2026-W47``       the ISO week (Monday 00:00 to the next Monday 00:00);
* ``START..END``     dates (``2026-11-01..2026-11-08``) or datetimes
  (``2026-11-01T06:00..2026-11-01T18:00``), END exclusive;
* ``all``            from the first to the last hour of data.

A window that does not overlap the data at all raises :class:`tools.errors.InputError`
naming the range of data that is there.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from pydantic import BaseModel, Field, model_validator

from tools.context import Context
from tools.errors import InputError

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
WINDOW_HELP = (
    "this-week, previous-week, last-30d, Nd (e.g. 14d), an ISO week such as 2026-W47, "
    "START..END with dates or datetimes (END exclusive), or all"
)


class Window(BaseModel):
    """A half-open time interval ``[start, end)`` in naive UTC, with the label it came from."""

    start: datetime = Field(description="First instant inside the window (naive UTC).")
    end: datetime = Field(description="First instant after the window (naive UTC, exclusive).")
    label: str = Field("", description="What the user typed, e.g. 'this-week'.")

    @model_validator(mode="after")
    def _check_order(self) -> "Window":
        if self.end <= self.start:
            raise ValueError(f"window {self.label or ''} ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def hours(self) -> float:
        return (self.end - self.start) / HOUR

    @property
    def days(self) -> float:
        return (self.end - self.start) / DAY

    def contains(self, ts: datetime) -> bool:
        return self.start <= ts < self.end

    def describe(self) -> str:
        """``this-week (2026-11-21 .. 2026-11-28)``: dates when the bounds are midnights."""

        def fmt(ts: datetime) -> str:
            return ts.date().isoformat() if ts == datetime.combine(ts.date(), datetime.min.time()) else ts.isoformat(sep=" ", timespec="minutes")

        span = f"{fmt(self.start)} .. {fmt(self.end)}"
        return f"{self.label} ({span})" if self.label and self.label != span else span


class DataRange(BaseModel):
    """The hours the warehouse holds: ``[first, last_end)`` with ``last_end`` = last hour + 1h."""

    first: datetime
    last_end: datetime

    @property
    def full_days_end(self) -> datetime:
        """The end of the last full day in the data (the anchor of relative windows)."""
        return _midnight(self.last_end)

    def describe(self) -> str:
        return f"{self.first.isoformat(sep=' ', timespec='minutes')} .. {self.last_end.isoformat(sep=' ', timespec='minutes')}"


def _midnight(ts: datetime) -> datetime:
    return datetime.combine(ts.date(), datetime.min.time())


def data_range(ctx: Context, cluster: str | None = None) -> DataRange | None:
    """The span of hourly data in the warehouse (for one cluster when given), or None."""
    if cluster is None:
        sql = """
            SELECT min(lo), max(hi) FROM (
                SELECT min(hour) AS lo, max(hour) + INTERVAL 1 HOUR AS hi FROM pod_hours
                UNION ALL
                SELECT min(hour), max(hour) + INTERVAL 1 HOUR FROM allocation_hours
                UNION ALL
                SELECT min(charge_period_start), max(charge_period_end) FROM billing_rows
                WHERE charge_period_end - charge_period_start <= INTERVAL 1 DAY
            )"""
        params: list = []
    else:
        sql = """
            SELECT min(lo), max(hi) FROM (
                SELECT min(hour) AS lo, max(hour) + INTERVAL 1 HOUR AS hi FROM pod_hours WHERE cluster = ?
                UNION ALL
                SELECT min(hour), max(hour) + INTERVAL 1 HOUR FROM allocation_hours WHERE cluster = ?
            )"""
        params = [cluster, cluster]
    lo, hi = ctx.db.execute(sql, params).fetchone()
    if lo is None or hi is None:
        return None
    return DataRange(first=lo, last_end=hi)


def _parse_instant(text: str, what: str, original: str) -> tuple[datetime, bool]:
    """A date or datetime; returns (naive UTC instant, was_date_only)."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time()), True
        ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"window {original!r}: cannot read the {what} {text!r}; use a date (2026-11-01) "
            f"or a datetime (2026-11-01T06:00)"
        ) from None
    if ts.tzinfo is not None:
        ts = ts.astimezone(timezone.utc).replace(tzinfo=None)
    return ts, False


def _require(rng: DataRange | None, text: str, cluster: str | None) -> DataRange:
    if rng is None:
        where = f" for cluster {cluster!r}" if cluster else ""
        raise InputError(
            f"window {text!r}: the warehouse holds no hourly data{where}; "
            f"load some with `allot demo` or `allot ingest ...` first"
        )
    return rng


def parse_window(
    ctx: Context,
    text: str,
    *,
    relative_to: Window | None = None,
    cluster: str | None = None,
) -> Window:
    """Turn a window expression into a :class:`Window` anchored to the data.

    Args:
        ctx: The context whose warehouse anchors relative windows.
        text: One of this-week, previous-week, last-30d, Nd, 2026-W47, START..END, all.
        relative_to: For ``previous-week`` (and ``previous``): the window to go back from,
            e.g. the current window of a comparison. Defaults to ``this-week``.
        cluster: Anchor relative windows on this cluster's data only.

    Returns:
        The window, labelled with ``text``.

    Raises:
        InputError: The expression is not understood, or the window holds no data (the
            message names the range of data that is there).
    """
    original = text
    key = text.strip().lower()
    rng = data_range(ctx, cluster)

    window: Window
    if key in ("this-week", "this_week", "thisweek", "current-week"):
        end = _require(rng, original, cluster).full_days_end
        window = Window(start=end - 7 * DAY, end=end, label=original)
    elif key in ("previous-week", "previous_week", "last-week", "prev-week", "previous"):
        if relative_to is not None:
            length = 7 * DAY if key != "previous" else relative_to.end - relative_to.start
            window = Window(start=relative_to.start - length, end=relative_to.start, label=original)
        else:
            end = _require(rng, original, cluster).full_days_end - 7 * DAY
            window = Window(start=end - 7 * DAY, end=end, label=original)
    elif m := re.fullmatch(r"(?:last-?)?(\d+)d", key):
        days = int(m.group(1))
        if days < 1:
            raise InputError(f"window {original!r}: the number of days must be at least 1")
        end = _require(rng, original, cluster).full_days_end
        window = Window(start=end - days * DAY, end=end, label=original)
    elif m := re.fullmatch(r"(\d{4})-w(\d{1,2})", key):
        try:
            monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
        except ValueError:
            raise InputError(f"window {original!r}: no such ISO week; use YYYY-Www with ww in 01..53") from None
        start = datetime.combine(monday, datetime.min.time())
        window = Window(start=start, end=start + 7 * DAY, label=original)
    elif ".." in key:
        left, right = original.split("..", 1)
        start, _ = _parse_instant(left, "start", original)
        end, _ = _parse_instant(right, "end", original)
        if end <= start:
            raise InputError(f"window {original!r}: END must be after START (END is exclusive)")
        window = Window(start=start, end=end, label=original)
    elif key == "all":
        r = _require(rng, original, cluster)
        window = Window(start=r.first, end=r.last_end, label=original)
    else:
        raise InputError(f"window {original!r} is not understood; use {WINDOW_HELP}")

    r = _require(rng, original, cluster)
    if window.end <= r.first or window.start >= r.last_end:
        raise InputError(
            f"window {original!r} ({window.start:%Y-%m-%d %H:%M} .. {window.end:%Y-%m-%d %H:%M}) is outside "
            f"the data: the warehouse holds "
            f"{r.describe()}{' for cluster ' + repr(cluster) if cluster else ''}; pick a window inside it"
        )
    if window.end - window.start < HOUR:
        raise InputError(f"window {original!r} is shorter than one hour; data is hourly")
    return window
