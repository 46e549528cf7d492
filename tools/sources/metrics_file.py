"""``allot ingest metrics FILE``: history from an OpenMetrics / Prometheus text file.

The file is parsed with prometheus_client's own parsers, never by hand: the OpenMetrics
parser when the file ends with ``# EOF``, the classic text-format parser otherwise. Parsing
streams family by family from the open file; only samples of catalogue series
(``tools.sources.metric_catalogue``) are kept, and they go to a DuckDB temp table in Arrow
batches of :data:`BATCH_SAMPLES`, so memory stays bounded by one family plus one batch.

One SQL ``GROUP BY`` then reduces the raw samples to the hourly-series relation of the
contract (``avg``, ``max``, ``min``, ``last`` = value at the latest timestamp, ``samples`` per
series and hour ``[H, H+1h)``) and :func:`tools.sources.history.build_history` fills the
tables, once per cluster in the file.

Decisions: the cluster is ``cluster`` (the argument) else each series' ``cluster`` label; a
sample without a timestamp is taken at the ingest time (a plain scrape), and the report says
how many there were.
"""

from __future__ import annotations

import functools
import logging
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import prometheus_client.openmetrics.parser as openmetrics_parser
import prometheus_client.parser as prometheus_parser
import pyarrow as pa

from tools.context import Context
from tools.errors import InputError
from tools.sources.after_ingest import refresh_allocation
from tools.sources.history import build_history
from tools.sources.metric_catalogue import BY_NAME
from tools.sources.report import IngestReport
from tools.warehouse import transaction

log = logging.getLogger(__name__)

BATCH_SAMPLES = 250_000
RAW_SCHEMA = pa.schema([
    ("metric", pa.string()),
    ("labels", pa.map_(pa.string(), pa.string())),
    ("value", pa.float64()),
    ("ts", pa.float64()),      # seconds since the epoch, NaN when the sample had none
])


@contextmanager
def memoised_label_parsing() -> Iterator[None]:
    """Memoise prometheus_client's own ``parse_labels`` while one file is parsed.

    A history file repeats each series' label text once per sample (a sample per hour), and
    label parsing is most of the parser's time: caching it makes parsing 2.5-6x faster. Each
    call still gets its own dict (the parser may edit it). The originals are restored after.
    """
    patched = []
    for module in (openmetrics_parser, prometheus_parser):
        original = getattr(module, "parse_labels", None)
        if original is None:
            continue
        cached = functools.lru_cache(maxsize=1 << 16)(original)
        module.parse_labels = lambda text, openmetrics=False, _cached=cached: dict(_cached(text, openmetrics))
        patched.append((module, original))
    try:
        yield
    finally:
        for module, original in patched:
            module.parse_labels = original


def is_openmetrics(path: Path) -> bool:
    """OpenMetrics text ends with ``# EOF``; the classic format has no terminator."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 64))
        tail = fh.read().decode("utf-8", errors="replace")
    return tail.rstrip().endswith("# EOF")


class _RawSampleWriter:
    """Buffers kept samples column-wise and appends them to ``_metrics_raw`` in Arrow batches."""

    def __init__(self, con):
        self.con = con
        self.columns: dict[str, list] = {name: [] for name in RAW_SCHEMA.names}
        self.kept = 0
        con.execute("""CREATE OR REPLACE TEMP TABLE _metrics_raw
                       (metric VARCHAR, labels MAP(VARCHAR, VARCHAR), value DOUBLE, ts DOUBLE)""")

    def add_family(self, samples: list) -> None:
        kept = [s for s in samples if s.name in BY_NAME]
        if not kept:
            return
        self.columns["metric"].extend(s.name for s in kept)
        self.columns["labels"].extend(s.labels for s in kept)
        self.columns["value"].extend(s.value for s in kept)
        self.columns["ts"].extend(float("nan") if s.timestamp is None else float(s.timestamp) for s in kept)
        self.kept += len(kept)
        if len(self.columns["metric"]) >= BATCH_SAMPLES:
            self.flush()

    def flush(self) -> None:
        if not self.columns["metric"]:
            return
        batch = pa.Table.from_pydict(self.columns, schema=RAW_SCHEMA)
        self.con.register("_metrics_batch", batch)
        self.con.execute("INSERT INTO _metrics_raw SELECT * FROM _metrics_batch")
        self.con.unregister("_metrics_batch")
        self.columns = {name: [] for name in RAW_SCHEMA.names}


def _parse(path: Path, writer: _RawSampleWriter) -> tuple[str, int, set[str]]:
    openmetrics = is_openmetrics(path)
    parser = (openmetrics_parser if openmetrics else prometheus_parser).text_fd_to_metric_families
    fmt = "OpenMetrics" if openmetrics else "Prometheus text"
    families, skipped = 0, set()
    try:
        with path.open("r", encoding="utf-8") as fh, memoised_label_parsing():
            for family in parser(fh):
                families += 1
                before = writer.kept
                writer.add_family(family.samples)
                if writer.kept == before:
                    skipped.add(family.name)
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(
            f"{path}: not valid {fmt} ({err}); export with timestamps, e.g. `promtool tsdb dump-openmetrics`, "
            "or the /federate or /metrics text of an exporter"
        ) from err
    writer.flush()
    return fmt, families, skipped


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
    writer = _RawSampleWriter(con)
    fmt, families, skipped = _parse(path, writer)
    log.info("%s: %s, %d families, %d catalogue samples; skipped %s", path, fmt, families, writer.kept,
             sorted(skipped))
    if not writer.kept:
        raise InputError(
            f"{path}: {families} metric families but none of the series allot reads (kube-state-metrics, "
            "cAdvisor, kubelet volume stats, DCGM, Loki; see tools/sources/metric_catalogue.py)"
        )
    no_ts, no_cluster = con.execute(
        "SELECT count(*) FILTER (isnan(ts)), count(*) FILTER (coalesce(?, labels['cluster']) IS NULL) "
        "FROM _metrics_raw", [cluster]).fetchone()
    if no_cluster:
        raise InputError(f"{path}: {no_cluster} samples have no `cluster` label; pass --cluster NAME")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _metrics_hourly AS
           SELECT coalesce(?, labels['cluster']) AS cluster, metric, labels, date_trunc('hour', sampled_at) AS hour,
                  avg(value) AS avg, max(value) AS max, min(value) AS min, arg_max(value, sampled_at) AS last,
                  count(*) AS samples
           FROM (SELECT metric, labels, value,
                        CASE WHEN isnan(ts) THEN ?::TIMESTAMP ELSE to_timestamp(ts)::TIMESTAMP END AS sampled_at
                 FROM _metrics_raw WHERE NOT isnan(value))  -- NaN: Prometheus staleness markers
           GROUP BY ALL""", [cluster, ctx.clock()])
    con.execute("DROP TABLE _metrics_raw")
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
