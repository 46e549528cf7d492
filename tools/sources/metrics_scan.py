"""The ordered pass of the metrics fast path: a file's lines into runs and samples, a segment at a time.

Each segment (:class:`~tools.sources.metrics_lines.Segment`) is parsed line by line in
parallel (:func:`_line_sql`: kind, series text, value and timestamp as the parser reads them,
and whether the line is in the strict grammar), then numbered into runs of consecutive lines
of one series by windows streamed over the segment in order (:func:`_segment_sql`), starting
from what the previous segment ended with (:class:`_Carry`). What stays across segments is
``_mc_runs``, a row per run with its checks, and ``_mc_samples(run, sampled_at, value)``
for catalogue series; :mod:`tools.sources.metrics_columnar` checks and reduces them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from tools.sources.metric_catalogue import BY_NAME
from tools.sources.metrics_lines import LineReader, Segment

VALUE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|\+Inf|-Inf"
TIMESTAMP = {True: r"[0-9]{1,15}(?:\.[0-9]{1,9})?", False: r"-?[0-9]{1,15}"}


def _line_sql(openmetrics: bool) -> str:
    """Every line of the segment ``_mc_arrow(n, line)`` on its own (parallel): kind, series text
    ``s``, value and timestamp as the parser reads them, and whether the line is well formed."""
    ts_double = ("CASE WHEN contains(t, '.') THEN split_part(t, '.', 1)::BIGINT"
                 " + coalesce(rpad(nullif(split_part(t, '.', 2), ''), 9, '0')::BIGINT, 0) / 1e9 ELSE t::BIGINT END"
                 if openmetrics else "t::BIGINT / 1000")
    tail = f"(?:{VALUE})(?: (?:{TIMESTAMP[openmetrics]}))?"
    return f"""
        WITH l AS (
            SELECT n, nullif(line, '') AS line, contains(line, '{{') AS braced,
                   CASE WHEN line = '' THEN 'B' WHEN starts_with(line, '#') THEN 'M' ELSE 'S' END AS kind
            FROM _mc_arrow),
        p AS (  -- series text and the rest: split at the one '}} ' (labels) or the first blank
            SELECT n, kind, line, braced,
                   CASE WHEN kind <> 'S' THEN NULL WHEN braced THEN string_split(line, '}} ')
                        ELSE string_split(line, ' ') END AS parts
            FROM l),
        v AS (
            SELECT n, kind,
                   CASE WHEN kind <> 'S' THEN line WHEN braced THEN parts[1] || '}}' ELSE parts[1] END AS s,
                   CASE WHEN kind <> 'S' THEN NULL WHEN braced THEN parts[2]
                        ELSE array_to_string(parts[2:], ' ') END AS rest,
                   kind = 'S' AND (CASE WHEN braced THEN len(parts) = 2 ELSE len(parts) IN (2, 3) END)
                       AND regexp_full_match(rest, '{tail}') AS ok
            FROM p),
        d AS (
            SELECT n, kind, s, ok, string_split(rest, ' ') AS vt FROM v),
        c AS (
            SELECT n, kind, s, ok, vt[2] AS t,
                   CASE WHEN NOT ok THEN NULL WHEN vt[1] = 'NaN' THEN 'nan'::DOUBLE
                        WHEN vt[1] = '+Inf' THEN 'inf'::DOUBLE WHEN vt[1] = '-Inf' THEN '-inf'::DOUBLE
                        WHEN vt[1] = '-0' THEN 0.0  -- the parser reads an integer: +0.0
                        ELSE TRY_CAST(vt[1] AS DOUBLE) END AS value
            FROM d),
        x AS (
            SELECT n, kind, s, ok, value, t IS NULL AS untimed,
                   CASE WHEN ok AND t IS NOT NULL THEN {ts_double} END AS ts
            FROM c)
        SELECT *, CASE WHEN kind = 'S' AND ok THEN coalesce(to_timestamp(ts)::TIMESTAMP, $now) END AS sampled_at
        FROM x"""


def _segment_sql(openmetrics: bool) -> str:
    """The segment's lines against the line before each (the previous segment's last line for
    its first): where a run starts, the running run number and the order checks.

    It reads ``_mc_seg``, the segment's lines parsed by :func:`_line_sql` (in parallel, into a
    table kept in row order by ``preserve_insertion_order``). The windows have no ``ORDER BY``:
    DuckDB streams them over the table in row order on one thread, which costs less than
    sorting by ``n``.
    """
    return f"""
        WITH r AS (
            SELECT *, s IS DISTINCT FROM lag(s, 1, $prev_s::VARCHAR) OVER () AS run_start,
                   lag(ts, 1, $prev_ts::DOUBLE) OVER () AS prev_ts,
                   lag(date_trunc('hour', sampled_at), 1, $prev_hour::TIMESTAMP) OVER () AS prev_hour
            FROM _mc_seg)
        SELECT n, CASE WHEN run_start OR n = $last THEN s END AS s,  -- a run's lines share s: any one will do
               CASE WHEN n = $last THEN ts END AS last_ts, value, sampled_at,
               kind = 'S' AND untimed AS untimed,
               kind <> 'M' AND NOT {"FALSE" if openmetrics else "kind = 'B'"} AND NOT (ok AND value IS NOT NULL) AS bad,
               kind = 'S' AND NOT run_start AND NOT coalesce(ts > prev_ts, FALSE) AS bad_order,
               kind = 'S' AND NOT run_start AND date_trunc('hour', sampled_at) = prev_hour AS same_hour,
               $runs + sum(run_start::INTEGER) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
        FROM r"""


@dataclass
class _Carry:
    """What a segment needs of the lines before it."""

    runs: int = 0                      # runs numbered so far (the last line's run)
    s: str | None = None               # the last line's series text
    ts: float | None = None
    hour: datetime | None = None
    catalogue: bool = False            # the last run is a catalogue series
    bad: int = 0                       # malformed lines so far


def _scan_segment(con: duckdb.DuckDBPyConnection, segment: Segment, openmetrics: bool, now: datetime,
                  carry: _Carry) -> None:
    """Add one segment's runs to ``_mc_runs`` and its catalogue samples to ``_mc_samples``.

    A run that goes on from the previous segment is merged into that segment's last row.
    """
    continues, last = segment.first > 1, segment.first + len(segment.lines) - 1
    con.register("_mc_arrow", pa.table({"n": pa.array(range(segment.first, segment.first + len(segment.lines)),
                                                      pa.int64()),
                                        "line": segment.lines}))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _mc_seg AS {_line_sql(openmetrics)}", {"now": now})
    finally:
        con.unregister("_mc_arrow")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _mc_lines AS {_segment_sql(openmetrics)}",
                {"prev_s": carry.s, "prev_ts": carry.ts, "prev_hour": carry.hour, "runs": carry.runs,
                 "last": last})
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _mc_seg_runs AS
        SELECT *, CASE WHEN run = $runs AND $continues THEN $catalogue
                       ELSE coalesce(list_contains($names, CASE WHEN contains(s, '{') THEN s[1:strpos(s, '{') - 1]
                                                               ELSE s END), FALSE) END AS catalogue
        FROM (SELECT run, any_value(s) AS s, min(n) AS first_n, max(n) AS last_n, count(*) AS lines,
                     count(*) FILTER (bad) AS bad_lines, count(*) FILTER (bad_order) AS bad_order,
                     count(*) FILTER (same_hour) AS same_hour, count(*) FILTER (untimed) AS untimed,
                     coalesce(bool_or(isnan(value) OR value < 0), FALSE) AS negative_or_nan
              FROM _mc_lines GROUP BY run)""", {"runs": carry.runs, "catalogue": carry.catalogue,
                                                "continues": continues, "names": sorted(BY_NAME)})
    con.execute("""
        UPDATE _mc_runs r SET last_n = g.last_n, lines = r.lines + g.lines, bad_lines = r.bad_lines + g.bad_lines,
               bad_order = r.bad_order + g.bad_order, same_hour = r.same_hour + g.same_hour,
               untimed = r.untimed + g.untimed, negative_or_nan = r.negative_or_nan OR g.negative_or_nan
        FROM _mc_seg_runs g WHERE $continues AND g.run = $runs AND r.run = $runs""",
                {"runs": carry.runs, "continues": continues})
    con.execute("""
        INSERT INTO _mc_runs
        SELECT run, CASE WHEN s IS NULL THEN 'B' WHEN starts_with(s, '#') THEN 'M' ELSE 'S' END, s,
               first_n, last_n, lines, bad_lines, bad_order, same_hour, untimed, negative_or_nan
        FROM _mc_seg_runs WHERE run > $runs OR NOT $continues""", {"runs": carry.runs, "continues": continues})
    con.execute("""
        INSERT INTO _mc_samples
        SELECT run, sampled_at, value FROM _mc_lines
        WHERE sampled_at IS NOT NULL AND NOT isnan(value)   -- NaN: staleness markers
          AND run IN (SELECT run FROM _mc_seg_runs WHERE catalogue)""")
    ended = con.execute("""SELECT l.s, l.last_ts, date_trunc('hour', l.sampled_at), r.run, r.catalogue,
                                 (SELECT sum(bad_lines) FROM _mc_seg_runs)
                          FROM (SELECT * FROM _mc_lines WHERE n = $last) l,
                               (SELECT * FROM _mc_seg_runs ORDER BY run DESC LIMIT 1) r""",
                       {"last": last}).fetchall()[0]
    carry.s, carry.ts, carry.hour, carry.runs, carry.catalogue = ended[:5]
    carry.bad += int(ended[5] or 0)


def scan_runs(con: duckdb.DuckDBPyConnection, path: Path, openmetrics: bool, now: datetime) -> LineReader:
    """The one pass over the file, a segment at a time: ``_mc_runs``, a row per run of
    consecutive lines with the run's checks (the series text ``s`` of a sample run, the line
    of a comment), and ``_mc_samples(run, sampled_at, value)`` for catalogue series.

    Stops at the first segment with a malformed line (the file goes to the parser anyway).
    """
    con.execute("""CREATE OR REPLACE TEMP TABLE _mc_runs (run BIGINT, kind VARCHAR, s VARCHAR, first_n BIGINT,
                   last_n BIGINT, lines BIGINT, bad_lines BIGINT, bad_order BIGINT, same_hour BIGINT,
                   untimed BIGINT, negative_or_nan BOOLEAN)""")
    con.execute("CREATE OR REPLACE TEMP TABLE _mc_samples (run BIGINT, sampled_at TIMESTAMP, value DOUBLE)")
    reader, carry = LineReader(path), _Carry()
    for segment in reader:
        _scan_segment(con, segment, openmetrics, now, carry)
        if carry.bad:
            break
    return reader
