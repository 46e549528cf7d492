"""``allot ingest metrics FILE``: history from an OpenMetrics / Prometheus text file.

Two readers, one result. The fast path (:mod:`tools.sources.metrics_columnar`) splits the
samples with Polars and parses label text once per series in DuckDB; it accepts only a strict
subset of the format, checked file-wide (sample shape, values and timestamps as the parser
reads them, families, series order, ``# EOF``). Any file outside it, or one that cannot be
read as UTF-8 lines, is parsed whole by prometheus_client
(:mod:`tools.sources.metrics_parse`), the parser of record, which also words every error
(naming the line). ``fast=False`` forces the parser. Both give the same tables.

Both reduce the samples of catalogue series (``tools.sources.metric_catalogue``) to the
hourly-series relation of the contract (``avg``, ``max``, ``min``, ``last`` = value at the
latest timestamp, ``samples`` per series and hour ``[H, H+1h)``; NaN values are staleness
markers and dropped). The fast path keys that reduction on an integer series id and hands
:func:`~tools.sources.history.build_history` the two tables apart, the series (one row per
series, its label values read from ``_metrics_series``' label lists before the build's
transaction, the lists then dropped) and ``_metrics_hours`` (one row per series and hour): no
label is stored or joined per series-hour. The parser path groups Parquet batches per metric into
the table ``_metrics_hourly`` (see :func:`_reduce_hourly`).
:func:`tools.sources.history.build_history` then fills the tables, once per cluster in the file.

Memory is bounded by the warehouse connection's ``memory_limit`` (``warehouse.memory_limit``
setting); the fast path holds one segment of lines at a time, and DuckDB spills the series,
samples and GROUP BYs beyond the limit to its temp directory.

Decisions: the cluster is ``cluster`` (the argument) else each series' ``cluster`` label; a
sample without a timestamp is taken at the ingest time (a plain scrape), and the report says
how many there were.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from tools.context import Context
from tools.errors import InputError
from tools.progress import ProgressCallback, no_progress
from tools.sources.after_ingest import refresh_allocation
from tools.sources.history import SERIES_TABLE, build_history, read_series
from tools.sources.metrics_columnar import FIRST_AT, ColumnarResult, drop_label_lists, drop_tables, read_hourly
from tools.sources.metrics_parse import is_gzip, is_openmetrics, parse_file
from tools.sources.metrics_scan import MAX_MICROS
from tools.sources.report import IngestReport
from tools.warehouse import transaction

log = logging.getLogger(__name__)


def _reduce_hourly(ctx: Context, path: Path, files: list[str], cluster: str | None) -> int:
    """Reduce the raw Parquet batches to ``_metrics_hourly``, one metric at a time.

    Reading the batches in place and grouping one metric per statement bounds the hash table
    by the largest metric (each batch holds few metrics, so the ``metric`` filter skips most
    row groups) instead of copying every raw sample into a temp table and grouping them all at
    once (19 GB RSS for one tier-M file). Returns the number of samples without a timestamp
    (taken at the ingest time), for the report.
    """
    con = ctx.db
    no_ts, no_cluster, far = con.execute(
        "SELECT count(*) FILTER (isnan(ts)), count(*) FILTER (coalesce(?, labels['cluster']) IS NULL), "
        "any_value(metric || ' has timestamp ' || ts || ' s') FILTER (NOT isnan(ts) AND abs(ts) * 1e6 > ?) "
        "FROM read_parquet(?)",
        [cluster, MAX_MICROS, files]).fetchone()
    if no_cluster:
        raise InputError(f"{path}: {no_cluster} samples have no `cluster` label; pass --cluster NAME")
    if far:
        raise InputError(f"{path}: a sample of {far}, beyond the year 294247; timestamps are "
                         "seconds since 1970 in OpenMetrics and milliseconds in the classic text format")
    con.execute("""CREATE OR REPLACE TEMP TABLE _metrics_hourly (cluster VARCHAR, metric VARCHAR,
                   labels MAP(VARCHAR, VARCHAR), hour TIMESTAMP, avg DOUBLE, max DOUBLE, min DOUBLE, last DOUBLE,
                   samples BIGINT)""")
    metrics = [r[0] for r in con.execute("SELECT DISTINCT metric FROM read_parquet(?) ORDER BY 1", [files]).fetchall()]
    for metric in metrics:
        con.execute(
            """INSERT INTO _metrics_hourly
               SELECT coalesce(?, labels['cluster']) AS cluster, metric, labels, date_trunc('hour', sampled_at) AS hour,
                      avg(value) AS avg, max(value) AS max, min(value) AS min, arg_max(value, sampled_at) AS last,
                      count(*) AS samples
               FROM (SELECT metric, labels, value,
                            CASE WHEN isnan(ts) THEN ?::TIMESTAMP ELSE to_timestamp(ts)::TIMESTAMP END AS sampled_at
                     FROM read_parquet(?) WHERE metric = ? AND NOT isnan(value))  -- NaN: staleness markers
               GROUP BY cluster, metric, labels, hour""", [cluster, ctx.clock(), files, metric])
    return no_ts


def _parse_slow(ctx: Context, path: Path, cluster: str | None, openmetrics: bool, refused: str | None) -> int:
    """The prometheus_client path: ``_metrics_hourly`` (a table keyed by label maps); returns untimed samples.

    ``refused``: why the fast path left the file to the parser; when that names the first line it
    refused, an error of the parser (whose messages name no line) quotes it.
    """
    with tempfile.TemporaryDirectory(prefix="allot-metrics-") as tmp:
        try:
            _, parsed = parse_file(path, Path(tmp), openmetrics=openmetrics)
        except (ValueError, UnicodeDecodeError) as err:
            fmt = "OpenMetrics" if openmetrics else "Prometheus text"
            where = f"; {refused}" if refused and FIRST_AT in refused else ""
            raise InputError(
                f"{path}: not valid {fmt} ({err}){where}; export with timestamps, e.g. `promtool tsdb "
                "dump-openmetrics`, or the /federate or /metrics text of an exporter"
            ) from err
        log.info("%s: %s, %d families, %d catalogue samples; skipped %s", path,
                 "OpenMetrics" if openmetrics else "Prometheus text", parsed.families, parsed.kept,
                 sorted(parsed.skipped))
        _no_catalogue_series(path, parsed.kept, parsed.families)
        return _reduce_hourly(ctx, path, parsed.files, cluster)


def _no_catalogue_series(path: Path, kept: int, families: int) -> None:
    if not kept:
        raise InputError(
            f"{path}: {families} metric families but none of the series allot reads (kube-state-metrics, "
            "cAdvisor, kubelet volume stats, DCGM, Loki; see tools/sources/metric_catalogue.py)"
        )


def _parse_fast(ctx: Context, path: Path, cluster: str | None, openmetrics: bool | None,
                progress: ProgressCallback) -> ColumnarResult | str | None:
    """The DuckDB path: ``_metrics_series`` (a row per series) and ``_metrics_hours`` (per series and hour).

    Returns what was read (the untimed samples, the clusters); why the file is outside the
    strict subset :mod:`tools.sources.metrics_columnar` reads; or None when it holds no catalogue
    series (in both cases nothing was created).
    """
    read = read_hourly(ctx.db, path, openmetrics, cluster, ctx.clock(), progress)
    if isinstance(read, str):
        log.info("%s: parsed with prometheus_client: %s", path, read)
        return read
    log.info("%s: %s read by the fast path, %d metrics, %d catalogue series, %d catalogue samples; skipped %s", path,
             "OpenMetrics" if read.openmetrics else "Prometheus text", read.families, read.series, read.kept,
             sorted(read.skipped))
    if not read.kept:
        drop_tables(ctx.db)
        return None   # the parser's family count words the error
    if read.no_cluster:
        drop_tables(ctx.db)
        raise InputError(f"{path}: {read.no_cluster} samples have no `cluster` label; pass --cluster NAME")
    return read


def ingest_metrics_file(ctx: Context, path: Path | str, cluster: str | None = None, *,
                        fast: bool = True, progress: ProgressCallback = no_progress) -> IngestReport:
    """Ingest kube-state-metrics, cAdvisor, kubelet, DCGM and Loki history from a metrics file.

    Args:
        ctx: the warehouse context.
        path: an OpenMetrics (ending with ``# EOF``) or Prometheus text file; samples should carry
            timestamps (seconds in OpenMetrics, milliseconds in the classic format).
        cluster: the cluster name; else each series' ``cluster`` label.
        fast: read the file with DuckDB when it is in the strict subset (else, and with False,
            prometheus_client parses it); both give the same tables.
        progress: ``(step, done, total)`` callback: the MB read (fast path), then each cluster's
            build steps.

    Returns:
        An IngestReport (one per file; rows summed over the clusters in the file).

    Raises:
        InputError: the file does not parse, holds no catalogue series, or names no cluster.
    """
    path = Path(path)
    con = ctx.db
    # a gzip file has no seekable end: the fast path finds out as it reads, the parser needs to know first
    openmetrics = None if is_gzip(path) else is_openmetrics(path)
    try:
        read = _parse_fast(ctx, path, cluster, openmetrics, progress) if fast else None
        if isinstance(read, ColumnarResult):  # hours and series apart, the clusters listed as the series were counted
            relation, clusters, no_ts = "_metrics_hours", read.clusters, read.untimed
            series = read_series(con, "_metrics_series")
            drop_label_lists(con)   # here: a transaction would hold them to its commit
        else:
            openmetrics = is_openmetrics(path) if openmetrics is None else openmetrics
            no_ts = _parse_slow(ctx, path, cluster, openmetrics, refused=read)
            relation, series = "_metrics_hourly", None
            clusters = [r[0] for r in con.execute(f"SELECT DISTINCT cluster FROM {relation} ORDER BY 1").fetchall()]
        report = IngestReport(source="metrics", cluster=clusters[0] if len(clusters) == 1 else None,
                              files=[str(path)])
        with transaction(con):  # every cluster of the file, or none
            parts = [build_history(ctx, name, relation, source="metrics", refresh=False, own_transaction=False,
                                   series_relation=series, progress=progress) for name in clusters]
        for part in parts:
            for table, n in part.rows.items():
                report.rows[table] = report.rows.get(table, 0) + n
            report.caveats.extend(part.caveats)
            report.warnings.extend(part.warnings)
    finally:
        con.execute("DROP TABLE IF EXISTS _metrics_hourly")
        con.execute(f"DROP TABLE IF EXISTS {SERIES_TABLE}")
        drop_tables(con)
    if no_ts:
        report.warnings.append(f"{no_ts} samples had no timestamp and were taken at the ingest time")
    refresh_allocation(ctx, progress)
    return report
