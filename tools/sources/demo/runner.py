"""``allot demo``: generate the demo world, ingest its files through the real ingest paths,
rebuild the allocation once.

The ingests are the ones users run on their own exports: ``ingest_focus_files`` for the FOCUS
CSVs, ``read_snapshot_dir`` + ``ingest_objects`` for each cluster's kubectl dumps,
``ingest_metrics_file`` for each cluster's OpenMetrics history. Each of them would rebuild the
allocation at its end; the demo defers that (``allocation_deferred``) and rebuilds once.

A previous demo in the same warehouse is replaced cleanly: before ingesting, every row of the
demo's clusters and billing accounts is deleted, so re-running gives the same numbers.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from tools.context import Context
from tools.progress import ProgressCallback, no_progress
from tools.sources.after_ingest import allocation_deferred
from tools.sources.demo.generate import WorldFiles, generate_world
from tools.sources.demo.spec import WorldSpec
from tools.sources.ingest_log import record_run
from tools.sources.report import IngestReport

log = logging.getLogger(__name__)


class DemoSummary(BaseModel):
    """What ``allot demo`` built and how long each part took."""

    out_dir: Path
    ground_truth: Path
    clusters: list[str]
    nodes: int
    pods: int
    pod_hours: int
    billed_total: float = Field(description="BilledCost of every FOCUS row written (USD)")
    effective_total: float
    billed_by_cluster: dict[str, float] = Field(description="cluster -> BilledCost; '' = outside Kubernetes")
    allocated_total: float | None = Field(None, description="sum of allocation_hours.cost after the rebuild")
    billing_rows: int
    seconds: dict[str, float] = Field(description="generate, ingest_billing, ingest_kubernetes, ingest_metrics, "
                                                  "allocate, total")
    reports: list[IngestReport] = Field(default_factory=list)


# Tables that record what people and runs did, not data derived from the ingested files:
# a demo rebuild keeps them (a reviewed plan for a demo workload stays reviewed).
KEPT_TABLE_PREFIXES = ("plan", "agent", "eval", "ingest_runs")


def forget_previous_demo(ctx: Context, files: WorldFiles) -> None:
    """Delete the ingested data of the demo's clusters and billing accounts (not plans or run logs)."""
    clusters = [c.cluster for c in files.ground_truth.clusters]
    from tools.sources.demo.estate import build_world

    accounts = sorted({c.billing_account_id for c in build_world(files.spec).clusters})
    con = ctx.db
    tables = con.execute(
        "SELECT DISTINCT table_name FROM duckdb_columns() WHERE column_name = 'cluster' AND NOT internal "
        "AND schema_name = 'main' ORDER BY 1").fetchall()
    con.execute("BEGIN TRANSACTION")
    try:
        for (table,) in tables:
            if table.startswith(KEPT_TABLE_PREFIXES):
                continue
            con.execute(f'DELETE FROM "{table}" WHERE list_contains(?, cluster)', [clusters])
        con.execute("DELETE FROM billing_rows WHERE list_contains(?, billing_account_id)", [accounts])
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def run_demo(ctx: Context, out_dir: Path, spec: WorldSpec | None = None,
             progress: ProgressCallback = no_progress) -> DemoSummary:
    """Generate the world into `out_dir`, ingest it into `ctx`'s warehouse and allocate once;
    ``progress`` hears of the generator's steps, each ingest and each history file's MB and build."""
    from tools.allocation import rebuild_allocation
    from tools.sources.focus import ingest_focus_files
    from tools.sources.kubernetes_objects import ingest_objects
    from tools.sources.kubernetes_snapshot import read_snapshot_dir
    from tools.sources.metrics_file import ingest_metrics_file

    spec = spec or WorldSpec.preset("demo")
    started, clock = ctx.clock(), time.perf_counter()
    seconds: dict[str, float] = {}
    files = generate_world(out_dir, spec, progress=progress)
    seconds["generate"] = files.seconds
    reports: list[IngestReport] = []
    with allocation_deferred(ctx):
        forget_previous_demo(ctx, files)
        mark = time.perf_counter()
        reports.append(ingest_focus_files(ctx, files.billing))
        seconds["ingest_billing"] = time.perf_counter() - mark
        progress("bill ingested", 1, 1)
        mark = time.perf_counter()
        for done, (cluster, folder) in enumerate(files.kubernetes.items(), start=1):
            objects, _paths, _written = read_snapshot_dir(folder)
            reports.append(ingest_objects(ctx, cluster, objects, spec.end))
            progress(f"{cluster}: kubectl dumps ingested", done, len(files.kubernetes))
        seconds["ingest_kubernetes"] = time.perf_counter() - mark
        mark = time.perf_counter()
        for cluster, path in files.metrics.items():
            reports.append(ingest_metrics_file(ctx, path, cluster=cluster, progress=progress))
        seconds["ingest_metrics"] = time.perf_counter() - mark
    mark = time.perf_counter()
    rebuild_allocation(ctx, progress)
    seconds["allocate"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - clock
    truth = files.ground_truth
    allocated = ctx.db.execute("SELECT sum(cost) FROM allocation_hours").fetchone()[0]
    summary = DemoSummary(
        out_dir=files.out_dir, ground_truth=files.ground_truth_path, clusters=[c.cluster for c in truth.clusters],
        nodes=sum(c.nodes_at_end for c in truth.clusters), pods=sum(c.pods for c in truth.clusters),
        pod_hours=sum(c.pod_hours for c in truth.clusters), billed_total=round(truth.billed_total, 2),
        effective_total=round(truth.effective_total, 2),
        billed_by_cluster={**{c.cluster: round(c.billed_total, 2) for c in truth.clusters},
                           "": round(truth.external_billed_total, 2)},
        allocated_total=None if allocated is None else round(allocated, 2),
        billing_rows=sum(r.rows.get("billing_rows", 0) for r in reports if r.source == "focus"),
        seconds={k: round(v, 2) for k, v in seconds.items()}, reports=reports)
    _record(ctx, summary, started)
    return summary


def _record(ctx: Context, summary: DemoSummary, started: datetime) -> None:
    report = IngestReport(source="demo", files=[str(summary.out_dir)],
                          rows={"pod_hours": summary.pod_hours, "billing_rows": summary.billing_rows})
    record_run(ctx.db, report, started, ctx.clock())
