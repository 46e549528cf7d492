"""Scope.distinct_hours: the bitmap count equals a plain count of distinct hours, at the window's edges too."""

from datetime import datetime, timedelta

import duckdb
import pytest

from tools.detectors.scope import Scope
from tools.windows import Window

H = timedelta(hours=1)
T0 = datetime(2026, 11, 1)


def rows() -> list[tuple[str, datetime]]:
    """Two groups; an hour repeated (two containers in one hour), hours on both sides of the windows."""
    a = [T0 + k * H for k in (-1, 0, 0, 1, 5, 5, 5, 59, 60, 61)]
    b = [T0 + k * H for k in (2, 3, 3, 60, 800, 20000)]
    return [("a", h) for h in a] + [("b", h) for h in b]


@pytest.mark.parametrize("start, end", [
    (T0, T0 + 60 * H),                                # whole hours: hour 60 is outside
    (T0 - 30 * timedelta(minutes=1), T0 + 60.5 * H),  # edges inside an hour: hour -1 out, 60 in
    (T0 + 3 * H, T0 + 4 * H),                         # one hour
    (T0 - H, T0 + 20001 * H),                         # over two years: the hash-set count
])
def test_distinct_hours_counts_each_hour_once(start, end):
    scope = Scope(ctx=None, window=Window(start=start, end=end))  # type: ignore[arg-type]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (grp VARCHAR, hour TIMESTAMP)")
    con.executemany("INSERT INTO t VALUES (?, ?)", rows())
    got = dict(con.execute(
        f"SELECT grp, {scope.distinct_hours('t')} FROM t WHERE t.hour >= ? AND t.hour < ? GROUP BY grp",
        [start, end]).fetchall())
    expected = {}
    for grp, hour in rows():
        if start <= hour < end:
            expected.setdefault(grp, set()).add(hour)
    assert got == {grp: len(hours) for grp, hours in expected.items()}
    assert ("count(DISTINCT" in scope.distinct_hours()) == (end - start > 366 * 24 * H)
