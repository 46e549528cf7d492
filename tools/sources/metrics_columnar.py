"""The fast path of ``allot ingest metrics``: DuckDB reads and splits the sample lines.

A history file repeats each series' label text once per sample, and tier M's files hold tens of
millions of lines; prometheus_client's pure-Python parser reads about 60k samples per second.
Here DuckDB reads the file as one text column (vectorised, parallel), splits each sample line
``name{label="value",...} value [timestamp]`` or ``name value [timestamp]`` with string
functions, and parses the label text once per *series*, not per sample. prometheus_client stays
the parser of record: this path accepts only a strict subset of the format and, for anything
else, :func:`read_hourly` returns the reason and the caller parses the whole file with
prometheus_client (:mod:`tools.sources.metrics_parse`), which is also what words every error.

The strict subset (every other file goes the slow way, so this path never accepts a file the
parser refuses):

* lines are UTF-8, ``\\n``-separated, without leading or trailing blanks; a sample line is
  ``name value`` or ``name value timestamp`` with ``name`` a plain metric name, optionally with
  labels ``{k="v",...}`` (plain label names, not starting with ``__``, no duplicates);
  no exemplars; the value is a decimal number, ``NaN``, ``+Inf`` or ``-Inf``; the timestamp is
  ``seconds[.fraction]`` (OpenMetrics, at most 9 fraction digits) or integer milliseconds
  (classic text format), as the parser reads them;
* label text with a backslash is parsed by prometheus_client's own ``parse_labels`` (one call
  per distinct series), so ``\\"``, ``\\\\`` and ``\\n`` give the parser's values;
* the only comment lines are ``# HELP``/``# TYPE`` (and ``# UNIT`` in OpenMetrics with an
  empty unit) and, for OpenMetrics, one final ``# EOF``; OpenMetrics types are gauge, counter
  and unknown, classic types any, but a classic counter of a catalogue metric must be named
  ``*_total`` (else the parser renames its samples);
* the samples of one series are consecutive lines (a *run*); in OpenMetrics every run sits
  in its family's block (the metadata lines of a family come once, before its samples), a
  sample's name is its family's (``_total`` for counters, no ``_created``), timestamps grow
  strictly within a run and are all present or all absent, counters are neither NaN nor
  negative, and one label set has one label order per metric (the parser's grouping
  compares label sets).

A run is a series: its number (a running count of series changes, a streaming window in file
order) is the series id, so the hourly ``GROUP BY`` keys on ``(series, hour)`` integers
instead of label maps. The result is two temp tables, ``_metrics_series(series, cluster,
metric, labels)`` for catalogue series and ``_metrics_hours(series, hour, avg, max, min, last,
samples)``, reduced as the slow path reduces (NaN values are staleness markers and dropped;
an untimed sample is taken at the ingest time).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import prometheus_client.openmetrics.parser as openmetrics_parser
import prometheus_client.parser as prometheus_parser
import pyarrow as pa

from tools.sources.metric_catalogue import BY_NAME
from tools.sources.metrics_parse import is_gzip

log = logging.getLogger(__name__)

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_ESCAPED = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
VALUE = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|NaN|\+Inf|-Inf"
TIMESTAMP = {True: r"[0-9]{1,15}(?:\.[0-9]{1,9})?", False: r"-?[0-9]{1,15}"}
OM_TYPES = ("gauge", "counter", "unknown")
ESCAPED_SERIES_LIMIT = 200_000   # more label texts with a backslash than this: the slow path


@dataclass
class ColumnarResult:
    """What the fast path read: families, catalogue series and samples, untimed samples."""

    families: int = 0
    series: int = 0
    kept: int = 0
    untimed: int = 0
    no_cluster: int = 0
    skipped: set[str] = field(default_factory=set)


def _source(path: Path) -> str:
    literal = "'" + str(path).replace("'", "''") + "'"
    compression = "gzip" if is_gzip(path) else "none"
    return (f"read_csv({literal}, columns={{'line': 'VARCHAR'}}, delim='\\x01', quote='', escape='', "
            f"header=false, auto_detect=false, new_line='\\n', compression='{compression}')")


def _lines_sql(path: Path, openmetrics: bool) -> str:
    """Every line in file order: number ``n``, kind, series text ``s``, value, timestamp, run."""
    ts_double = ("split_part(t, '.', 1)::BIGINT + coalesce(rpad(nullif(split_part(t, '.', 2), ''), 9, '0')::BIGINT, 0)"
                 " / 1e9" if openmetrics else "t::BIGINT / 1000")
    tail = f"(?:{VALUE})(?: (?:{TIMESTAMP[openmetrics]}))?"
    return f"""
        WITH l AS (
            SELECT row_number() OVER () AS n, line,
                   CASE WHEN line IS NULL THEN 'B' WHEN starts_with(line, '#') THEN 'M' ELSE 'S' END AS kind
            FROM {_source(path)}),
        p AS (  -- series text and the rest: split at the one '}} ' (labels) or the first blank
            SELECT n, kind, line,
                   CASE WHEN kind <> 'S' THEN NULL WHEN contains(line, '{{') THEN string_split(line, '}} ')
                        ELSE string_split(line, ' ') END AS parts
            FROM l),
        v AS (
            SELECT n, kind,
                   CASE WHEN kind <> 'S' THEN line WHEN contains(line, '{{') THEN parts[1] || '}}'
                        ELSE parts[1] END AS s,
                   CASE WHEN kind <> 'S' THEN NULL WHEN contains(line, '{{') THEN parts[2]
                        ELSE array_to_string(parts[2:], ' ') END AS rest,
                   kind = 'S' AND (CASE WHEN contains(line, '{{') THEN len(parts) = 2 ELSE len(parts) IN (2, 3) END)
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
            FROM c),
        h AS (
            SELECT *, CASE WHEN kind = 'S' AND ok THEN coalesce(to_timestamp(ts)::TIMESTAMP, $now) END AS sampled_at
            FROM x),
        r AS (
            SELECT *, s IS DISTINCT FROM lag(s) OVER () AS run_start, lag(ts) OVER () AS prev_ts,
                   lag(date_trunc('hour', sampled_at)) OVER () AS prev_hour
            FROM h)
        SELECT n, CASE WHEN run_start THEN s END AS s, value, sampled_at,
               kind = 'S' AND untimed AS untimed,
               kind <> 'M' AND NOT {"FALSE" if openmetrics else "kind = 'B'"} AND NOT (ok AND value IS NOT NULL) AS bad,
               kind = 'S' AND NOT run_start AND NOT coalesce(ts > prev_ts, FALSE) AS bad_order,
               kind = 'S' AND NOT run_start AND date_trunc('hour', sampled_at) = prev_hour AS same_hour,
               sum(run_start::INTEGER) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)::BIGINT AS run
        FROM r"""


def _scan_runs(con: duckdb.DuckDBPyConnection, path: Path, openmetrics: bool, now: datetime) -> None:
    """The one pass over the file, in order: ``_mc_lines`` (a row per line, the series text on
    the first line of each run only), then ``_mc_runs``, a row per run with its checks."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _mc_lines AS {_lines_sql(path, openmetrics)}", {"now": now})
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _mc_runs AS
        SELECT run, CASE WHEN s IS NULL THEN 'B' WHEN starts_with(s, '#') THEN 'M' ELSE 'S' END AS kind, s,
               first_n, last_n, lines, bad_lines, bad_order, same_hour, untimed, negative_or_nan
        FROM (SELECT run, any_value(s) AS s, min(n) AS first_n, max(n) AS last_n, count(*) AS lines,
                     count(*) FILTER (bad) AS bad_lines, count(*) FILTER (bad_order) AS bad_order,
                     count(*) FILTER (same_hour) AS same_hour, count(*) FILTER (untimed) AS untimed,
                     bool_or(isnan(value) OR value < 0) AS negative_or_nan
              FROM _mc_lines GROUP BY run)""")


def _fail(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> bool:
    return bool(con.execute(sql, params or []).fetchone()[0])


def _check_lines(con: duckdb.DuckDBPyConnection, openmetrics: bool) -> str | None:
    bad, order = con.execute("SELECT sum(bad_lines), sum(bad_order) FROM _mc_runs").fetchone()
    if bad:
        return f"{bad} line(s) outside the strict sample grammar"
    if openmetrics and order:
        return f"{order} sample(s) repeat a timestamp, go backwards or mix timed and untimed samples"
    if _fail(con, "SELECT count(*) <> count(DISTINCT s) FROM _mc_runs WHERE kind = 'S'"):
        return "a series' samples are not consecutive lines"
    return None


def _build_series(con: duckdb.DuckDBPyConnection, openmetrics: bool) -> str | None:
    """``_mc_series``: every run's metric, label keys and (plain text) label values, checked."""
    con.execute(rf"""
        CREATE OR REPLACE TEMP TABLE _mc_series AS
        SELECT *, list_transform(terms, lambda t: t[1:strpos(t, '=') - 1]) AS keys
        FROM (SELECT run, s, lines, untimed, negative_or_nan, first_n, last_n,
                     CASE WHEN contains(s, '{{') THEN s[1:strpos(s, '{{') - 1] ELSE s END AS metric,
                     contains(s, '\') AS escaped,
                     CASE WHEN NOT contains(s, '{{') OR s[strpos(s, '{{') + 1:-2] = '' THEN []::VARCHAR[]
                          ELSE string_split(s[strpos(s, '{{') + 1:-2] || ',', '",')[:-2] END AS terms
              FROM _mc_runs WHERE kind = 'S')""")
    # plain label text is checked with string functions per series and a regex per distinct
    # metric and key list: quotes only around values (two per label), `key="` at each label
    escaped = f"^{NAME}\\{{({LABEL_ESCAPED}(,{LABEL_ESCAPED})*)?\\}}$"
    n = con.execute(f"""SELECT count(*) FROM _mc_series
                        WHERE CASE WHEN escaped THEN NOT regexp_full_match(s, '{escaped}')
                        ELSE NOT (length(s) - length(replace(s, '"', '')) = 2 * len(terms)
                                  AND (NOT contains(s, '{{') OR s = metric || '{{}}' OR ends_with(s, '"}}'))
                                  AND coalesce(list_bool_and(list_transform(terms, lambda t: strpos(t, '=') > 1
                                                                            AND strpos(t, '="') = strpos(t, '='))),
                                               TRUE)) END""").fetchone()[0]
    n += con.execute(f"""SELECT count(*) FROM (SELECT DISTINCT metric FROM _mc_series)
                         WHERE NOT regexp_full_match(metric, '{NAME}')""").fetchone()[0]
    n += con.execute(f"""SELECT count(*) FROM (SELECT DISTINCT unnest(keys) AS k FROM
                                              (SELECT DISTINCT keys FROM _mc_series WHERE NOT escaped))
                         WHERE NOT regexp_full_match(k, '{LABEL_NAME}')""").fetchone()[0]
    if n:
        return f"{n} series outside the strict label grammar"
    if _fail(con, """SELECT count(*) FROM _mc_series WHERE NOT escaped AND (len(list_distinct(keys)) <> len(keys)
                     OR len(list_filter(keys, lambda k: starts_with(k, '__'))) > 0)"""):
        return "a series repeats a label name or uses a reserved one"
    if openmetrics and _fail(con, """SELECT count(*) FROM (SELECT metric, list_sort(keys) FROM
                                     (SELECT DISTINCT metric, keys FROM _mc_series WHERE NOT escaped)
                                     GROUP BY ALL HAVING count(*) > 1)"""):
        return "a metric lists one label set in two orders"
    return None


def _parse_escaped(con: duckdb.DuckDBPyConnection, openmetrics: bool) -> str | None:
    """Label text with a backslash goes through prometheus_client's ``parse_labels``: ``_mc_escaped``."""
    rows = con.execute("SELECT run, metric, s FROM _mc_series WHERE escaped").fetchall()
    if len(rows) > ESCAPED_SERIES_LIMIT:
        return f"{len(rows)} series with escaped label text"
    parse = (openmetrics_parser if openmetrics else prometheus_parser).parse_labels
    runs, keys, values, seen = [], [], [], set()
    for run, metric, text in rows:
        try:
            labels = parse(text[text.index("{") + 1:-1], openmetrics)   # as each parser calls it
        except ValueError:
            return "escaped label text the parser refuses"
        canonical = (metric, tuple(sorted(labels.items())))
        if canonical in seen:
            return "one escaped label set written twice"
        seen.add(canonical)
        runs.append(run)
        keys.append(list(labels))
        values.append(list(labels.values()))
    con.register("_mc_escaped_arrow", pa.table({"run": pa.array(runs, pa.int64()),
                                                "k": pa.array(keys, pa.list_(pa.string())),
                                                "v": pa.array(values, pa.list_(pa.string()))}))
    con.execute("CREATE OR REPLACE TEMP TABLE _mc_escaped AS SELECT * FROM _mc_escaped_arrow")
    con.unregister("_mc_escaped_arrow")
    return None


def _check_families(con: duckdb.DuckDBPyConnection, openmetrics: bool) -> str | None:
    """Comment lines: ``_mc_meta`` (kind, name, type per line), blocks and the family of each series."""
    con.execute(rf"""
        CREATE OR REPLACE TEMP TABLE _mc_meta AS
        SELECT first_n AS n, lines, s AS line,
               regexp_extract(s, '^# (HELP|TYPE|UNIT) ({NAME})( .*)?$', ['kind', 'name', 'rest']) AS m
        FROM _mc_runs WHERE kind = 'M'""")
    if _fail(con, "SELECT count(*) FROM _mc_meta WHERE lines > 1"):
        return "a comment line repeated"
    if openmetrics:
        eof = con.execute("""SELECT count(*) FILTER (line = '# EOF'), max(n) FILTER (line = '# EOF'),
                             (SELECT max(last_n) FROM _mc_runs) FROM _mc_meta""").fetchone()
        if eof[0] != 1 or eof[1] != eof[2]:
            return "not exactly one # EOF, as the last line"
        bad = con.execute(f"""SELECT count(*) FROM _mc_meta WHERE line <> '# EOF' AND (m.kind = ''
                              OR (m.kind = 'TYPE' AND m.rest NOT IN ({", ".join(f"' {t}'" for t in OM_TYPES)}))
                              OR (m.kind = 'UNIT' AND m.rest <> ' '))""").fetchone()[0]
    else:
        # the parser renames the samples of a counter not named *_total: left to it when that
        # touches a catalogue metric (other samples are dropped either way)
        bad = con.execute(r"""SELECT count(*) FROM _mc_meta WHERE m.kind NOT IN ('HELP', 'TYPE')
                              OR (m.kind = 'TYPE' AND NOT regexp_full_match(m.rest, ' [a-z]+'))
                              OR (m.kind = 'TYPE' AND m.rest = ' counter' AND NOT ends_with(m.name, '_total')
                                  AND (list_contains(?, m.name) OR list_contains(?, m.name || '_total')))""",
                          [sorted(BY_NAME), sorted(BY_NAME)]).fetchone()[0]
    if bad:
        return f"{bad} comment line(s) outside the strict grammar"
    if not openmetrics:
        return None
    # blocks: runs of consecutive metadata lines, one family each, each family in one block
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _mc_blocks AS
        SELECT block, any_value(m.name) AS family, count(DISTINCT m.name) AS names,
               count(*) FILTER (m.kind = 'HELP') AS helps, count(*) FILTER (m.kind = 'TYPE') AS types,
               count(*) FILTER (m.kind = 'UNIT') AS units,
               coalesce(trim(any_value(m.rest) FILTER (m.kind = 'TYPE')), 'unknown') AS type,
               min(n) AS first_n, max(n) AS last_n
        FROM (SELECT *, sum(start::INTEGER) OVER (ORDER BY n) AS block
              FROM (SELECT *, coalesce(lag(n) OVER (ORDER BY n) <> n - 1, TRUE) AS start
                    FROM _mc_meta WHERE line <> '# EOF'))
        GROUP BY block""")
    if _fail(con, """SELECT count(*) FROM _mc_blocks WHERE names > 1 OR helps > 1 OR types > 1 OR units > 1"""):
        return "a block of metadata lines names two families or repeats a line"
    if _fail(con, "SELECT count(*) <> count(DISTINCT family) FROM _mc_blocks"):
        return "a family declared twice"
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _mc_families AS
        SELECT family, type, last_n AS lo, coalesce(lead(first_n) OVER (ORDER BY first_n),
                                                    (SELECT max(n) FROM _mc_meta WHERE line = '# EOF')) AS hi,
               CASE type WHEN 'counter' THEN family || '_total' ELSE family END AS sample_name,
               CASE type WHEN 'counter' THEN [family, family || '_total', family || '_created']
                         ELSE [family] END AS names
        FROM _mc_blocks""")
    if _fail(con, "SELECT count(*) <> count(DISTINCT x) FROM (SELECT unnest(names) AS x FROM _mc_families)"):
        return "family names clash"
    n = con.execute("""SELECT count(*) FROM _mc_series s LEFT JOIN _mc_families f ON f.sample_name = s.metric
                       WHERE f.family IS NULL OR s.first_n <= f.lo OR s.last_n >= f.hi
                          OR (f.type = 'counter' AND s.negative_or_nan)""").fetchone()[0]
    if n:
        return f"{n} series outside their family's block, of another family, or a NaN or negative counter"
    return None


def _series_table(con: duckdb.DuckDBPyConnection, cluster: str | None) -> None:
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _metrics_series AS
        SELECT run AS series, coalesce(?, labels['cluster']) AS cluster, metric, labels, lines, untimed
        FROM (SELECT s.run, s.metric, s.lines, s.untimed,
                     CASE WHEN s.escaped THEN map(e.k, e.v)
                          ELSE map(s.keys, list_transform(s.terms, lambda t: t[strpos(t, '=') + 2:])) END AS labels
              FROM _mc_series s LEFT JOIN _mc_escaped e USING (run)
              WHERE list_contains(?, s.metric))""", [cluster, sorted(BY_NAME)])


def _hours_table(con: duckdb.DuckDBPyConnection) -> None:
    """Samples of catalogue series reduced per (series, hour), from ``_mc_lines``.

    Runs are in time order, so when no run has two samples in one hour (``same_hour``; the
    common case of one sample per series and hour) each sample is its own hourly row and the
    ``GROUP BY`` is skipped: one value is its own average, maximum, minimum and last.
    """
    catalogue_only = _fail(con, """SELECT (SELECT count(*) FROM _metrics_series)
                                          = (SELECT count(*) FROM _mc_runs WHERE kind = 'S')""")
    where = "sampled_at IS NOT NULL AND NOT isnan(value)" + (
        "" if catalogue_only else " AND run IN (SELECT series FROM _metrics_series)")
    if _fail(con, "SELECT sum(same_hour) > 0 FROM _mc_runs"):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _metrics_hours AS
            SELECT run AS series, date_trunc('hour', sampled_at) AS hour, avg(value) AS avg, max(value) AS max,
                   min(value) AS min, arg_max(value, sampled_at) AS last, count(*) AS samples
            FROM _mc_lines WHERE {where} GROUP BY 1, 2""")
    else:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _metrics_hours AS
            SELECT run AS series, date_trunc('hour', sampled_at) AS hour, value AS avg, value AS max, value AS min,
                   value AS last, 1::BIGINT AS samples
            FROM _mc_lines WHERE {where}""")


def read_hourly(
    con: duckdb.DuckDBPyConnection, path: Path, openmetrics: bool, cluster: str | None, now: datetime
) -> ColumnarResult | str:
    """Read ``path`` into ``_metrics_series`` and ``_metrics_hours``, or say why the parser must.

    Returns:
        The counts, or the reason (a short phrase) the file is outside the strict subset; then
        nothing is created and the caller parses the file with prometheus_client.
    """
    if not con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]:
        return "the connection does not keep lines in file order (preserve_insertion_order is off)"
    try:
        _scan_runs(con, path, openmetrics, now)
    except duckdb.Error as err:       # not UTF-8, a carriage return, an unreadable file
        return f"DuckDB cannot read it as lines ({str(err).splitlines()[0]})"
    try:
        reason = (_check_lines(con, openmetrics) or _build_series(con, openmetrics)
                  or _parse_escaped(con, openmetrics) or _check_families(con, openmetrics))
        if reason:
            return reason
        _series_table(con, cluster)
        result = ColumnarResult()
        result.families, names = con.execute(
            "SELECT count(DISTINCT metric), list(DISTINCT metric) FROM _mc_series").fetchone()
        result.series, result.kept, result.untimed, result.no_cluster = con.execute(
            "SELECT count(*), coalesce(sum(lines), 0), coalesce(sum(untimed), 0), "
            "coalesce(sum(lines) FILTER (cluster IS NULL), 0) FROM _metrics_series").fetchone()
        result.skipped = {m for m in names or [] if m not in BY_NAME}
        if result.kept and not result.no_cluster:
            _hours_table(con)
        return result
    finally:
        for table in ("_mc_lines", "_mc_runs", "_mc_series", "_mc_escaped", "_mc_meta", "_mc_blocks", "_mc_families"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
