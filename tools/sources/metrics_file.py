"""``allot ingest metrics FILE``: history from an OpenMetrics / Prometheus text file.

The file is parsed with prometheus_client's own parsers, never by hand
(:mod:`tools.sources.metrics_parse`: the OpenMetrics parser when the file ends with ``# EOF``,
the classic text-format parser otherwise; large files in parallel chunks cut at family
boundaries). Parsing streams family by family; only samples of catalogue series
(``tools.sources.metric_catalogue``) are kept and written as columnar (Parquet) batches that
DuckDB loads in one statement, so memory stays bounded by one family plus one batch.

One SQL ``GROUP BY`` per metric, reading the batches in place, then reduces the raw samples to
the hourly-series relation of the contract (``avg``, ``max``, ``min``, ``last`` = value at the
latest timestamp, ``samples`` per series and hour ``[H, H+1h)``) and
:func:`tools.sources.history.build_history` fills the tables, once per cluster in the file.

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
from tools.sources.after_ingest import refresh_allocation
from tools.sources.history import build_history
from tools.sources.metrics_parse import is_openmetrics, parse_file
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
    no_ts, no_cluster = con.execute(
        "SELECT count(*) FILTER (isnan(ts)), count(*) FILTER (coalesce(?, labels['cluster']) IS NULL) "
        "FROM read_parquet(?)", [cluster, files]).fetchone()
    if no_cluster:
        raise InputError(f"{path}: {no_cluster} samples have no `cluster` label; pass --cluster NAME")
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


def ingest_metrics_file(ctx: Context, path: Path | str, cluster: str | None = None) -> IngestReport:
    """Ingest kube-state-metrics, cAdvisor, kubelet, DCGM and Loki history from a metrics file.

    Args:
        ctx: the warehouse context.
        path: an OpenMetrics (ending with ``# EOF``) or Prometheus text file; samples should carry
            timestamps (seconds in OpenMetrics, milliseconds in the classic format).
        cluster: the cluster name; else each series' ``cluster`` label.

    Returns:
        An IngestReport (one per file; rows summed over the clusters in the file).

    Raises:
        InputError: the file does not parse, holds no catalogue series, or names no cluster.
    """
    path = Path(path)
    con = ctx.db
    with tempfile.TemporaryDirectory(prefix="allot-metrics-") as tmp:
        try:
            openmetrics, parsed = parse_file(path, Path(tmp))
        except (ValueError, UnicodeDecodeError) as err:
            fmt = "OpenMetrics" if is_openmetrics(path) else "Prometheus text"
            raise InputError(
                f"{path}: not valid {fmt} ({err}); export with timestamps, e.g. `promtool tsdb "
                "dump-openmetrics`, or the /federate or /metrics text of an exporter"
            ) from err
        log.info("%s: %s, %d families, %d catalogue samples; skipped %s", path,
                 "OpenMetrics" if openmetrics else "Prometheus text", parsed.families, parsed.kept,
                 sorted(parsed.skipped))
        if not parsed.kept:
            raise InputError(
                f"{path}: {parsed.families} metric families but none of the series allot reads (kube-state-metrics, "
                "cAdvisor, kubelet volume stats, DCGM, Loki; see tools/sources/metric_catalogue.py)"
            )
        no_ts = _reduce_hourly(ctx, path, parsed.files, cluster)
    clusters = [r[0] for r in con.execute("SELECT DISTINCT cluster FROM _metrics_hourly ORDER BY 1").fetchall()]
    report = IngestReport(source="metrics", cluster=clusters[0] if len(clusters) == 1 else None, files=[str(path)])
    try:
        with transaction(con):  # every cluster of the file, or none
            parts = [build_history(ctx, name, "_metrics_hourly", source="metrics", refresh=False,
                                   own_transaction=False) for name in clusters]
        for part in parts:
            for table, n in part.rows.items():
                report.rows[table] = report.rows.get(table, 0) + n
            report.caveats.extend(part.caveats)
            report.warnings.extend(part.warnings)
    finally:
        con.execute("DROP TABLE IF EXISTS _metrics_hourly")
    if no_ts:
        report.warnings.append(f"{no_ts} samples had no timestamp and were taken at the ingest time")
    refresh_allocation(ctx)
    return report

