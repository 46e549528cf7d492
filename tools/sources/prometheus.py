"""``allot ingest prometheus``: hourly history from a Prometheus server into the warehouse.

Prometheus does the downsampling: every catalogue series (``metric_catalogue``) is read as
``avg/max/min/last/count_over_time(SERIES[1h])`` evaluated at ``H + 1h - 1ms`` with step 1h
(``prometheus_queries``), which is exactly the hourly-series staging relation the metrics-file
ingest builds from raw samples. The relation is staged in DuckDB and handed to
``tools.sources.history.build_history`` per cluster, so both paths fill the same tables the
same way.

Steps, all reads before any write (a failure leaves the warehouse unchanged):

1. list each metric's series over the window (``/api/v1/series``, index only) to check what
   is there and to plan batches under the series budget;
2. refuse with a clear error when a required series is absent, or when series lack a label
   the builder needs (naming the metric and the label);
3. run the batched range queries, then stage and build.

What is missing is reported: the history builder's caveats (GPUs but no DCGM series: GPU usage
unknown, never 0; no network or log metric; ...) and a warning listing the optional series
Prometheus does not have. Both DCGM activity series are read when present: the builder takes
``DCGM_FI_PROF_GR_ENGINE_ACTIVE`` for a pod and hour, and falls back to ``DCGM_FI_DEV_GPU_UTIL``
only where the former has no sample (GPUs can report one and not the other, node by node or
after a driver upgrade). The first hour of the window computes counter increases
as ``last - min`` within the hour (the hour before it is not read).
"""

from __future__ import annotations

import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pyarrow as pa

from tools.context import Context
from tools.errors import InputError, SourceError
from tools.progress import ProgressCallback, no_progress
from tools.sources.after_ingest import refresh_allocation
from tools.sources.metric_catalogue import CATALOGUE, Metric
from tools.sources.prometheus_http import PrometheusAPI
from tools.sources.prometheus_queries import (
    HOUR,
    Batch,
    hour_chunks,
    hourly_queries,
    matcher,
    plan_batches,
    selector,
    split_labels,
)
from tools.sources.report import IngestReport

log = logging.getLogger(__name__)

GPU_ACTIVITY = ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_GPU_UTIL")
MS = timedelta(milliseconds=1)
STAGING_SCHEMA = pa.schema([
    ("cluster", pa.string()), ("metric", pa.string()), ("labels", pa.map_(pa.string(), pa.string())),
    ("hour", pa.timestamp("ms")), ("avg", pa.float64()), ("max", pa.float64()), ("min", pa.float64()),
    ("last", pa.float64()), ("samples", pa.int64()),
])


def resolve_window(text: str, now: datetime) -> tuple[datetime, datetime]:
    """``14d``/``48h`` (ending at the start of the current hour) or ``START..END`` -> whole hours."""
    key = text.strip().lower()
    end_now = now.replace(minute=0, second=0, microsecond=0)
    if m := re.fullmatch(r"(\d+)([hdw])", key):
        n = int(m.group(1)) * {"h": 1, "d": 24, "w": 168}[m.group(2)]
        if n < 1:
            raise InputError(f"--window {text!r} must cover at least one hour")
        return end_now - n * HOUR, end_now
    if ".." in key:
        left, right = text.split("..", 1)
        start, end = _instant(left, text), _instant(right, text)
        start = start.replace(minute=0, second=0, microsecond=0)
        if end.minute or end.second or end.microsecond:
            end = end.replace(minute=0, second=0, microsecond=0) + HOUR
        if end <= start:
            raise InputError(f"--window {text!r}: END must be after START (END is exclusive)")
        return start, end
    raise InputError(f"--window {text!r} is not understood; use 14d, 48h, 2w or START..END "
                     "(dates or datetimes in UTC, END exclusive), e.g. 2026-11-01..2026-11-15")


def _instant(text: str, window: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--window {window!r}: cannot read {text.strip()!r}; use 2026-11-01 or 2026-11-01T06:00") from None
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


def key_labels(metric: Metric) -> tuple[str, ...]:
    """Labels without which a metric's series cannot be placed (checked on every fetch)."""
    keys = list(metric.labels[:2] if metric.labels[0] == "namespace" else metric.labels[:1])
    keys += [label for label in ("resource", "phase", "Hostname") if label in metric.labels and label not in keys]
    return tuple(keys)


@dataclass
class MetricPlan:
    metric: Metric
    matchers: tuple[str, ...]
    batches: list[Batch]


@dataclass
class Discovery:
    plans: list[MetricPlan] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)      # optional metrics with no series


def _label_problem(metric: Metric, series: list[dict[str, str]], need_cluster: bool) -> str | None:
    needed = key_labels(metric) + (("cluster",) if need_cluster else ())
    for label in needed:
        if any(label in s for s in series):
            continue
        seen = sorted({name for s in series for name in s if name != "__name__"})
        hint = ""
        if f"exported_{label}" in seen:
            hint = (f"; the scrape renamed it to exported_{label}: set `honor_labels: true` on the "
                    "kube-state-metrics scrape job")
        elif label == "cluster":
            hint = "; pass --cluster NAME"
        return (f"Prometheus series {metric.name} carry no `{label}` label (labels seen: {', '.join(seen)}); "
                f"allot needs `{label}` to place them{hint}")
    return None


def discover(api: PrometheusAPI, start: datetime, end: datetime, cluster: str | None, series_budget: int,
             progress: ProgressCallback = no_progress) -> Discovery:
    """Check which catalogue series exist and plan their batches under ``series_budget``."""
    clusters = sorted({s.get("cluster", "") for s in api.series("kube_node_info", start, end - MS)} - {""})
    cluster_matcher: str | None = None
    if cluster is not None and cluster in clusters and len(clusters) > 1:
        cluster_matcher = matcher("cluster", [cluster])
    elif cluster is None and len(clusters) > 1:
        log.info("Prometheus holds clusters %s; ingesting each", ", ".join(clusters))
    elif cluster is not None and len(clusters) > 1:
        raise InputError(f"--cluster {cluster!r} is not among the clusters in Prometheus ({', '.join(clusters)}); "
                         "pass one of them")
    extra = (cluster_matcher,) if cluster_matcher else ()

    found = Discovery()
    missing_required: list[str] = []
    problems: list[str] = []
    for index, metric in enumerate(CATALOGUE):
        progress(f"listing {metric.name}", index, len(CATALOGUE))
        series = api.series(selector(metric, extra), start, end - MS)
        if not series:
            if metric.required:
                missing_required.append(f"{metric.name} ({metric.source})")
            elif metric.name not in GPU_ACTIVITY:
                found.absent.append(metric.name)
            continue
        problem = _label_problem(metric, series, need_cluster=cluster is None)
        if problem:
            problems.append(problem)
            continue
        batches = plan_batches(series, split_labels(metric), series_budget)
        for batch in batches:
            if batch.series > series_budget:
                log.warning("%s: %d series share %s and cannot be split under the budget of %d",
                            metric.name, batch.series, ",".join(batch.matchers), series_budget)
        found.plans.append(MetricPlan(metric, extra, batches))
    if missing_required:
        raise SourceError(
            f"Prometheus at {api.url} has no series for required metrics between {start:%Y-%m-%d %H:%M} and "
            f"{end:%Y-%m-%d %H:%M} UTC: {', '.join(missing_required)}; check that kube-state-metrics and the "
            f"kubelet's cAdvisor endpoint are scraped, and that --window covers data Prometheus still holds"
        )
    if problems:
        raise SourceError("; ".join(problems))
    return found


def _hour_of(evaluated_at: float) -> datetime:
    """The hour ``H`` of a point evaluated at ``H + 1h - 1ms`` (API float seconds)."""
    millis = round(evaluated_at * 1000) + 1 - 3_600_000
    return datetime(1970, 1, 1) + timedelta(milliseconds=millis)


def _hourly_points(api: PrometheusAPI, series_selector: str, chunk_start: datetime,
                   chunk_end: datetime) -> dict[tuple, dict[str, float]]:
    """``{(labels, hour): {reduction: value}}`` for one batch and time chunk (five queries)."""
    rows: dict[tuple, dict[str, float]] = {}
    for reduction, query in hourly_queries(series_selector):
        for item in api.query_range(query, chunk_start + HOUR - MS, chunk_end - MS, 3600):
            key = tuple(sorted((k, v) for k, v in item.get("metric", {}).items() if k != "__name__"))
            for evaluated_at, value in item.get("values") or []:
                rows.setdefault((key, _hour_of(float(evaluated_at))), {})[reduction] = float(value)
    return rows


def fetch_hourly(api: PrometheusAPI, discovery: Discovery, start: datetime, end: datetime, cluster: str | None,
                 max_points: int, progress: ProgressCallback = no_progress, concurrency: int = 4) -> pa.Table:
    """Run the planned range queries, ``concurrency`` at a time; returns the hourly-series
    relation as an Arrow table."""
    work = [(plan, batch, chunk) for plan in discovery.plans for batch in plan.batches
            for chunk in hour_chunks(start, end, batch.series, max_points)]
    columns: dict[str, list] = {name: [] for name in STAGING_SCHEMA.names}
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [pool.submit(_hourly_points, api, selector(plan.metric, plan.matchers + batch.matchers), *chunk)
                   for plan, batch, chunk in work]
        try:
            for done, ((plan, _batch, (chunk_start, chunk_end)), future) in enumerate(zip(work, futures), start=1):
                for (key, hour), values in future.result().items():
                    series_cluster = cluster or dict(key).get("cluster")
                    if not series_cluster:
                        raise SourceError(f"Prometheus series {plan.metric.name}{dict(key)} carry no `cluster` "
                                          "label; pass --cluster NAME to name the cluster they belong to")
                    columns["cluster"].append(series_cluster)
                    columns["metric"].append(plan.metric.name)
                    columns["labels"].append(list(key))
                    columns["hour"].append(hour)
                    for name in ("avg", "max", "min", "last"):
                        columns[name].append(values.get(name))
                    samples = values.get("samples")
                    columns["samples"].append(None if samples is None else int(samples))
                progress(f"{plan.metric.name} {chunk_start:%m-%d %H:%M}..{chunk_end:%m-%d %H:%M}", done, len(work))
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return pa.table(columns, schema=STAGING_SCHEMA)


def ingest_prometheus(
    ctx: Context,
    url: str,
    window: str = "14d",
    cluster: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    series_budget: int = 2000,
    max_points: int = 100_000,
    timeout: float = 120.0,
    attempts: int = 4,
    backoff: float = 1.0,
    concurrency: int = 4,
    progress: ProgressCallback = no_progress,
) -> IngestReport:
    """Read hourly history for ``window`` from Prometheus at ``url`` and build the hourly tables.

    Args:
        ctx: The warehouse context.
        url: The Prometheus server root, e.g. ``http://prometheus:9090``.
        window: ``14d``, ``48h``, ``2w`` (ending at the start of the current hour) or ``START..END``.
        cluster: The cluster name; None takes each series' ``cluster`` label. With several
            clusters in Prometheus it selects that cluster's series.
        headers: Extra HTTP headers (authorization, tenant ids).
        series_budget: The most series one query may select; bigger metrics are split.
        max_points: The most series x hours one query may return; longer windows are split.
        timeout: Seconds per request.
        attempts: Tries per request for connection errors, timeouts, 429 and 5xx.
        backoff: Seconds before the first retry; doubles each retry.
        concurrency: Range queries in flight at once.
        progress: ``(step, done, total)`` callback.

    Returns:
        The combined report of the history build per cluster, with what was missing as caveats.

    Raises:
        SourceError: Prometheus is unreachable or failing, a required series is absent, or
            series lack a needed label. Nothing is written.
        ConfigError: Prometheus refused the credentials. InputError: a bad window or cluster.
    """
    from tools.sources.history import build_history

    start, end = resolve_window(window, ctx.clock())
    with PrometheusAPI(url, headers, timeout=timeout, attempts=attempts, backoff=backoff) as api:
        discovery = discover(api, start, end, cluster, series_budget, progress)
        table = fetch_hourly(api, discovery, start, end, cluster, max_points, progress, concurrency)
        requests = api.requests
    if table.num_rows == 0:
        raise SourceError(f"Prometheus at {url} returned no hourly points between {start} and {end}; "
                          "check --window against the data Prometheus holds")
    relation = f"_prometheus_hourly_{uuid.uuid4().hex[:8]}"
    clusters = sorted(set(table.column("cluster").to_pylist()))
    report = IngestReport(source="prometheus", cluster=cluster or (clusters[0] if len(clusters) == 1 else None),
                          files=[url])
    ctx.db.register(f"{relation}_arrow", table)
    try:
        ctx.db.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT * FROM {relation}_arrow")
        for name in clusters:
            built = build_history(ctx, name, relation, source="prometheus", refresh=False, progress=progress)
            for key, count in built.rows.items():
                report.rows[key] = report.rows.get(key, 0) + count
            report.caveats += [c for c in built.caveats if c not in report.caveats]
            report.warnings += [w for w in built.warnings if w not in report.warnings]
    finally:
        ctx.db.execute(f"DROP TABLE IF EXISTS {relation}")
        ctx.db.unregister(f"{relation}_arrow")
    if discovery.absent:
        report.warnings.append(f"optional series absent from Prometheus: {', '.join(discovery.absent)}")
    log.info("read %s..%s from %s in %d requests", start, end, url, requests)
    refresh_allocation(ctx, progress)
    return report

