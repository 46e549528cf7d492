"""The fast path of ``allot ingest metrics``: Polars splits the sample lines, DuckDB checks and reduces them.

A history file repeats each series' label text once per sample, and tier M's files hold tens of
millions of lines; prometheus_client's pure-Python parser reads about 60k samples per second.
Here the file is read a segment at a time (:mod:`tools.sources.metrics_lines`: Arrow arrays of
about 128 MB of lines each), Polars splits each sample line ``name{label="value",...} value
[timestamp]`` or ``name value [timestamp]`` with string functions (in parallel) and numbers the
runs of consecutive lines of one series (:mod:`tools.sources.metrics_scan`), and DuckDB parses
the label text once per *series*, not per sample. Only a row per run and three numbers per
catalogue sample are kept across segments, so the space a file needs grows with its series and
samples, not with its text.
prometheus_client stays the parser of record: this path accepts only a strict subset of the
format and, for anything else, :func:`read_hourly` returns the reason and the caller parses
the whole file with prometheus_client (:mod:`tools.sources.metrics_parse`), which is also
what words every error.

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

A run is a series: its number (a running count of series changes, a streaming window over
each segment, carried from one segment to the next) is the series id, so the hourly reduction
keys on ``(series, hour)`` integers instead of label maps. The result is the view
``_metrics_series(series, cluster, metric, label_keys, label_values, has_hours)`` for catalogue
series and the view ``_metrics_hours(series, hour, avg, max, min, last, samples)``, reduced as
the slow path reduces (NaN values are staleness markers and dropped; an untimed sample is taken
at the ingest time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import prometheus_client.openmetrics.parser as openmetrics_parser
import prometheus_client.parser as prometheus_parser
import pyarrow as pa

from tools.progress import ProgressCallback, no_progress
from tools.sources.metric_catalogue import BY_NAME
from tools.sources.metrics_lines import NotLines
from tools.sources.metrics_scan import TooManyRuns, scan_runs
from tools.warehouse.sql import literal, literal_list

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
LABEL_ESCAPED = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"'
OM_TYPES = ("gauge", "counter", "unknown")
ESCAPED_SERIES_LIMIT = 200_000   # more label texts with a backslash than this: the slow path

FIRST_AT = ", the first is line "   # in a refusal that names the first line it refused


def _first_at(n: int, text: str) -> str:
    """``, the first is line N: 'TEXT'``, long text cut to 120 characters."""
    return f"{FIRST_AT}{n:,}: {text if len(text) <= 120 else text[:117] + '...'!r}"


@dataclass
class ColumnarResult:
    """What the fast path read: families, catalogue series and samples, untimed samples."""

    families: int = 0
    series: int = 0
    kept: int = 0
    untimed: int = 0
    no_cluster: int = 0
    clusters: list[str] = field(default_factory=list)   # the clusters the catalogue series name, sorted
    skipped: set[str] = field(default_factory=set)
    openmetrics: bool = True


def _fail(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> bool:
    return bool(con.execute(sql, params or []).fetchone()[0])


def _check_lines(con: duckdb.DuckDBPyConnection, openmetrics: bool, first_bad: tuple[int, str] | None) -> str | None:
    bad, order = con.execute("SELECT sum(bad_lines), sum(bad_order) FROM _mc_runs").fetchone()
    if bad:
        return f"{bad} line(s) outside the strict sample grammar{_first_at(*(first_bad or (0, '')))}"
    if openmetrics and order:
        return f"{order} sample(s) repeat a timestamp, go backwards or mix timed and untimed samples"
    # a series' text in two runs. Texts are grouped by hash first, and only those sharing a hash
    # are compared whole: DuckDB's string hash collides on similar label texts, so a shared
    # hash proves nothing, but distinct hashes prove distinct texts (tier M: 5.5M runs, about a
    # hundred shared hashes)
    shared = """WITH shared AS (SELECT hash(s) AS h FROM _mc_runs WHERE kind = 'S' GROUP BY 1 HAVING count(*) > 1)
                SELECT {} FROM _mc_runs WHERE kind = 'S' AND hash(s) IN (SELECT h FROM shared)"""
    if _fail(con, shared.format("count(*) <> count(DISTINCT s)")):
        # where a series comes back: the first line of its second run
        again = con.execute(f"""SELECT first_n, s FROM ({shared.format(
            "first_n, s, row_number() OVER (PARTITION BY s ORDER BY first_n) AS k")}) WHERE k = 2
            ORDER BY first_n LIMIT 1""").fetchone()
        return f"a series' samples are not consecutive lines{_first_at(*again)}"
    return None


def _build_series(con: duckdb.DuckDBPyConnection, openmetrics: bool) -> str | None:
    """``_mc_series``: every run's metric, label keys and (plain text) label values, checked.

    The label text is then held once: ``_mc_series`` keeps the keys and values (and the text
    itself only where it has a backslash, for the parser's ``parse_labels``), and the run table
    keeps only the rows the later steps read (comment lines, the last line), not a row per series.
    """
    # plain label text (no backslash, so no quote inside a value) split at its quotes: the
    # values at the even places, the key parts (`key=`, then `,key=`) at the odd ones, joined by
    # a quote and, without the last `=`, split again at `=",` into the keys. With an odd number
    # of parts, key parts ending in `=` and every key a label name (checked below, per distinct
    # key list) the text is exactly `key="value",...`. Text with a backslash is matched by a
    # regex instead. Text is cut with substring(): a slice (`s[a:b]`) costs about three times as
    # much on these strings (5.5M series texts in a tier-M file)
    escaped = f"^{NAME}\\{{({LABEL_ESCAPED}(,{LABEL_ESCAPED})*)?\\}}$"
    con.execute(rf"""
        CREATE OR REPLACE TEMP TABLE _mc_series AS
        SELECT run, metric, escaped, lines, untimed, stale, negative_or_nan, first_n, last_n,
               CASE WHEN escaped THEN s END AS s, keys, vals,
               CASE WHEN escaped THEN regexp_full_match(s, '{escaped}')
                    ELSE (body = '' OR (len(parts) % 2 = 1 AND ends_with(key_parts, '=')))
                         AND (NOT contains(s, '{{') OR s = metric || '{{}}' OR ends_with(s, '"}}'))
               END AS text_ok
        FROM (SELECT *, CASE WHEN body = '' THEN []::VARCHAR[]
                             ELSE string_split(substring(key_parts, 1, length(key_parts) - 1), '=",') END AS keys
              FROM (SELECT *, list_slice(parts, 2, -1, 2) AS vals,
                              array_to_string(list_slice(parts, 1, -2, 2), '"') AS key_parts
                    FROM (SELECT *, CASE WHEN body = '' THEN []::VARCHAR[] ELSE string_split(body, '"') END AS parts
                          FROM (SELECT run, s, lines, untimed, stale, negative_or_nan, first_n, last_n,
                                       split_part(s, '{{', 1) AS metric, contains(s, '\') AS escaped,
                                       CASE WHEN contains(s, '{{')
                                            THEN substring(s, strpos(s, '{{') + 1, length(s) - strpos(s, '{{') - 1)
                                            ELSE '' END AS body
                                FROM _mc_runs WHERE kind = 'S'))))""")
    bad_text, first = con.execute("SELECT count(*), min(first_n) FROM _mc_series WHERE NOT text_ok").fetchone()
    first_at = _first_at(first, con.execute("SELECT s FROM _mc_runs WHERE first_n = ?", [first]).fetchone()[0]
                         ) if bad_text else ""
    # the later steps read only the comment and blank lines and the file's last line: the run
    # table keeps those rows, not one per series
    con.execute("""CREATE OR REPLACE TEMP TABLE _mc_runs_slim AS
                   SELECT run, kind, CASE WHEN kind <> 'S' THEN s END AS s, first_n, last_n, lines
                   FROM _mc_runs
                   WHERE kind <> 'S' OR last_n = (SELECT max(last_n) FROM _mc_runs)""")
    con.execute("DROP TABLE _mc_runs")
    con.execute("ALTER TABLE _mc_runs_slim RENAME TO _mc_runs")
    n = bad_text + con.execute(f"""SELECT count(*) FROM (SELECT DISTINCT metric FROM _mc_series)
                         WHERE NOT regexp_full_match(metric, '{NAME}')""").fetchone()[0]
    # the checks of label names hold for a key list whatever its values: each distinct list once
    con.execute("CREATE OR REPLACE TEMP TABLE _mc_keysets AS SELECT DISTINCT metric, keys FROM _mc_series "
                "WHERE NOT escaped")
    n += con.execute(f"""SELECT count(*) FROM (SELECT DISTINCT unnest(keys) AS k FROM _mc_keysets)
                         WHERE NOT regexp_full_match(k, '{LABEL_NAME}')""").fetchone()[0]
    if n:
        return f"{n} series outside the strict label grammar{first_at}"
    if _fail(con, """SELECT count(*) FROM _mc_keysets WHERE len(list_distinct(keys)) <> len(keys)
                     OR len(list_filter(keys, lambda k: starts_with(k, '__'))) > 0"""):
        return "a series repeats a label name or uses a reserved one"
    if openmetrics and _fail(con, """SELECT count(*) FROM (SELECT metric, list_sort(keys) FROM _mc_keysets
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
    con.register("_mc_escaped_arrow", pa.table({"run": pa.array(runs, pa.int32()),
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


def _series_view(con: duckdb.DuckDBPyConnection, cluster: str | None) -> None:
    """The view ``_metrics_series``: catalogue series with their labels as parallel key and value lists,
    and whether they have hours (a series of NaN staleness markers alone has none).

    A view over ``_mc_series``' split keys and values, not a table of label maps: the history
    build reads each value by its key once per cluster and keeps only what it needs, so the
    file's label text is held once and no map is built for a label that is not kept.
    """
    named = "NULL" if cluster is None else literal(cluster)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _metrics_series AS
        SELECT s.run AS series,
               coalesce({named}, CASE WHEN s.escaped THEN e.v[list_position(e.k, 'cluster')]
                                      ELSE s.vals[list_position(s.keys, 'cluster')] END) AS cluster,
               s.metric, CASE WHEN s.escaped THEN e.k ELSE s.keys END AS label_keys,
               CASE WHEN s.escaped THEN e.v ELSE s.vals END AS label_values,
               s.lines > s.stale AS has_hours, s.lines, s.untimed
        FROM _mc_series s LEFT JOIN _mc_escaped e USING (run)
        WHERE list_contains({literal_list(sorted(BY_NAME))}, s.metric)""")


def _hours_view(con: duckdb.DuckDBPyConnection) -> None:
    """The view ``_metrics_hours``: catalogue samples reduced per (series, hour).

    Runs are in time order, so a sample alone in its hour of its run (the common case of one
    sample per series and hour) needs no ``GROUP BY``: it is its own hourly row, its value its
    own average, maximum, minimum and last. The scan put those in ``_mc_samples`` (with their hour,
    not their time) and the others in ``_mc_shared``; only these are grouped, into ``_mc_hours``.
    The view is the two together.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _mc_hours AS
        SELECT run, date_trunc('hour', sampled_at) AS hour, avg(value) AS avg, max(value) AS max,
               min(value) AS min, arg_max(value, sampled_at) AS last, count(*) AS samples
        FROM _mc_shared GROUP BY 1, 2""")
    con.execute("DROP TABLE _mc_shared")
    con.execute("""
        CREATE OR REPLACE TEMP VIEW _metrics_hours AS
        SELECT run AS series, make_timestamp(hour * 3600000000::BIGINT) AS hour, value AS avg, value AS max,
               value AS min, value AS last, 1::BIGINT AS samples
        FROM _mc_samples
        UNION ALL
        SELECT run AS series, hour, avg, max, min, last, samples FROM _mc_hours""")


_SCAN_TABLES = ("_mc_runs", "_mc_runs_slim", "_mc_keysets", "_mc_meta", "_mc_blocks", "_mc_families")


def drop_label_lists(con: duckdb.DuckDBPyConnection) -> None:
    """Drop ``_metrics_series`` and the tables under it, once the history build's series table is
    read from it (:func:`tools.sources.history.read_series`): the samples stay."""
    con.execute("DROP VIEW IF EXISTS _metrics_series")
    for table in ("_mc_series", "_mc_escaped"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def drop_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what :func:`read_hourly` created (after the history build, or when it gave up)."""
    for view in ("_metrics_hours", "_metrics_series"):
        con.execute(f"DROP VIEW IF EXISTS {view}")
    for table in (*_SCAN_TABLES, "_mc_series", "_mc_escaped", "_mc_samples", "_mc_shared", "_mc_hours"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def read_hourly(
    con: duckdb.DuckDBPyConnection, path: Path, openmetrics: bool | None, cluster: str | None, now: datetime,
    progress: ProgressCallback = no_progress,
) -> ColumnarResult | str:
    """Read ``path`` into the views ``_metrics_series`` and ``_metrics_hours``, or say why the parser must.

    Args:
        openmetrics: the file's format, or None when it is not known yet (a gzip file has no
            seekable end): then it is read as OpenMetrics, and read again as the classic format
            when its last line turns out not to be ``# EOF``.
        progress: ``(step, done, total)`` callback: the file's MB as they are read, then the series.

    Returns:
        The counts (and the format), or the reason (a short phrase) the file is outside the
        strict subset; then nothing is left behind and the caller parses the file with
        prometheus_client. Drop the tables with :func:`drop_tables` after the history build.
    """
    if not con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()[0]:
        return "the connection does not keep lines in file order (preserve_insertion_order is off)"
    try:
        scanned_as = True if openmetrics is None else openmetrics
        reader, first_bad = scan_runs(con, path, scanned_as, now, progress)
        if reader.done and reader.openmetrics != scanned_as:   # a scan stopped early has a bad line anyway
            scanned_as = reader.openmetrics
            reader, first_bad = scan_runs(con, path, scanned_as, now, progress)
        openmetrics = scanned_as
        reason = (_check_lines(con, openmetrics, first_bad) or _build_series(con, openmetrics)
                  or _parse_escaped(con, openmetrics) or _check_families(con, openmetrics))
        if reason:
            drop_tables(con)
            return reason
        _series_view(con, cluster)
        progress("series and labels checked", 1, 1)
        result = ColumnarResult(openmetrics=openmetrics)
        result.families, names = con.execute(
            "SELECT count(DISTINCT metric), list(DISTINCT metric) FROM _mc_series").fetchone()
        result.series, result.kept, result.untimed, result.no_cluster, clusters = con.execute(
            "SELECT count(*), coalesce(sum(lines), 0), coalesce(sum(untimed), 0), "
            "coalesce(sum(lines) FILTER (cluster IS NULL), 0), list(DISTINCT cluster) FILTER (cluster IS NOT NULL) "
            "FROM _metrics_series").fetchone()
        result.clusters = sorted(clusters or [])
        result.skipped = {m for m in names or [] if m not in BY_NAME}
        if result.kept and not result.no_cluster:
            _hours_view(con)
        return result
    except NotLines as err:           # not UTF-8, a carriage return, a damaged gzip stream
        drop_tables(con)
        return f"not read as lines: {err}"
    except TooManyRuns as err:
        drop_tables(con)
        return str(err)
    except BaseException:
        drop_tables(con)
        raise
    finally:
        for table in _SCAN_TABLES:
            con.execute(f"DROP TABLE IF EXISTS {table}")
