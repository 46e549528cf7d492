"""The benchmark stages, each run alone in a child process by ``bench.measure.run_stage``.

``python -m bench.stage NAME --world DIR --db PATH [--tier T]`` runs stage NAME against a
generated world folder and a warehouse file, and prints one line
``BENCH-RESULT {json}`` with ``work_s`` (the stage's own work, timed inside the process after
imports and opening the warehouse) and figures that let the report check the result
(row counts, reconcile differences, oracle agreement).

Stages, in the order one run executes them on a fresh warehouse:

* ``generate``        write the tier's world (reported, not counted)
* ``ingest_billing``  FOCUS files -> billing_rows (allocation rebuild deferred)
* ``ingest_k8s``      kubectl dumps + OpenMetrics history for every cluster (rebuild deferred); with
                      ALLOT_BENCH_CLUSTERS=a,b only those clusters (the bill is always ingested whole)
* ``allocate``        rebuild_allocation, then allocate_window over the whole data for every grouping
* ``floor``           one plain DuckDB GROUP BY over pod_hours (what no allocation can undercut)
* ``reference``       the plain-Python oracle (tools.allocation.reference) over the same warehouse,
                      compared bucket by bucket with the engine's allocation_hours
* ``reconcile``       reconcile over the whole data
* ``explain``         explain_change this-week vs previous-week, per cluster
* ``waste``           every waste detector over the default window
* ``plan``            propose_plans (explain + waste -> plans) and store them
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path
from typing import Callable

from tools.errors import AllotError

RESULT_PREFIX = "BENCH-RESULT "
CLUSTERS_ENV = "ALLOT_BENCH_CLUSTERS"   # comma-separated: ingest only these clusters' kubectl dumps and history


def warehouse_files(db: Path) -> tuple[Path, Path]:
    """The warehouse file and its WAL: what the first ingest stage deletes to start afresh."""
    return db, db.with_name(db.name + ".wal")


FLOOR_SQL = """
    SELECT cluster, namespace, workload_kind, workload_name,
           sum(fraction) AS pod_hours,
           sum(greatest(cpu_request, coalesce(cpu_usage, 0)) * fraction) AS cpu_hours,
           sum(greatest(memory_request, coalesce(memory_usage, 0)) * fraction) AS memory_byte_hours,
           sum(gpu_request * fraction) AS gpu_hours
    FROM pod_hours GROUP BY ALL
"""
# The same pass at the grain an hourly allocation must write (cluster, hour, workload, node):
# a second floor, reported beside the first, that no hourly allocation can undercut either.
HOURLY_FLOOR_SQL = FLOOR_SQL.replace("SELECT cluster,", "SELECT cluster, hour, node,")


def _open(db: Path):
    from tools.context import Context

    return Context.open(db)


def stage_generate(world: Path, db: Path, tier: str) -> dict:
    from tools.sources.demo import WorldSpec, generate_world

    spec = WorldSpec.preset(tier)  # type: ignore[arg-type]
    started = time.perf_counter()
    files = generate_world(world, spec, processes=os.cpu_count() or 1)
    work = time.perf_counter() - started
    (world / "spec.json").write_text(spec.model_dump_json() + "\n")
    truth = files.ground_truth
    return {"work_s": work, "pod_hours": sum(c.pod_hours for c in truth.clusters),
            "nodes": sum(c.nodes_at_end for c in truth.clusters), "pods": sum(c.pods for c in truth.clusters),
            "bytes": sum(p.stat().st_size for p in world.rglob("*") if p.is_file())}


def stage_ingest_billing(world: Path, db: Path, tier: str) -> dict:
    from tools.sources.after_ingest import allocation_deferred
    from tools.sources.focus import ingest_focus_files

    for leftover in warehouse_files(db):
        leftover.unlink(missing_ok=True)
    ctx = _open(db)
    started = time.perf_counter()
    with allocation_deferred(ctx):
        report = ingest_focus_files(ctx, sorted((world / "billing").iterdir()))
    work = time.perf_counter() - started
    limit = ctx.db.execute("SELECT current_setting('memory_limit')").fetchone()[0]   # as DuckDB took it
    ctx.close()
    return {"work_s": work, "billing_rows": report.rows.get("billing_rows", 0), "memory_limit": limit}


def stage_ingest_k8s(world: Path, db: Path, tier: str) -> dict:
    from tools.sources.after_ingest import allocation_deferred
    from tools.sources.demo import load_ground_truth
    from tools.sources.kubernetes_objects import ingest_objects
    from tools.sources.kubernetes_snapshot import read_snapshot_dir
    from tools.sources.metrics_file import ingest_metrics_file

    spec_end = load_ground_truth(world / "ground_truth.json").end
    only = set(filter(None, os.environ.get(CLUSTERS_ENV, "").split(",")))
    ctx = _open(db)
    started = time.perf_counter()
    split: dict[str, float] = {}
    with allocation_deferred(ctx):
        mark = time.perf_counter()
        for folder in sorted((world / "kubernetes").iterdir()):
            if only and folder.name not in only:
                continue
            objects, _paths, _written = read_snapshot_dir(folder)
            ingest_objects(ctx, folder.name, objects, spec_end)
            # not held through the history ingest: a tier-M cluster's parsed dumps take about 130 MB,
            # which `allot ingest kubernetes` (a process of its own) never adds to the history's peak
            del objects
        split["kubernetes_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        for path in sorted((world / "metrics").glob("*.om*")):
            cluster = path.name.split(".")[0]
            if only and cluster not in only:
                continue
            ingest_metrics_file(ctx, path, cluster=cluster)
        split["history_s"] = time.perf_counter() - mark
    work = time.perf_counter() - started
    pod_hours = ctx.db.execute("SELECT count(*) FROM pod_hours").fetchone()[0]
    ctx.close()
    return {"work_s": work, "pod_hour_rows": pod_hours, **split}


def stage_allocate(world: Path, db: Path, tier: str) -> dict:
    from tools.allocation import rebuild_allocation
    from tools.allocation.query import BY_CHOICES, AllocateInput, allocate_window

    ctx = _open(db)
    started = time.perf_counter()
    summary = rebuild_allocation(ctx)
    rebuild = time.perf_counter() - started
    rows = {}
    for by in BY_CHOICES:
        out = allocate_window(ctx, AllocateInput(window="all", by=by))
        if out.status != "ok":
            raise RuntimeError(f"allocate_window by {by}: {out.status} {out.message}")
        rows[by] = len(out.rows)
    work = time.perf_counter() - started
    n = ctx.db.execute("SELECT count(*) FROM allocation_hours").fetchone()[0]
    ctx.close()
    return {"work_s": work, "rebuild_s": rebuild, "queries_s": work - rebuild, "allocation_rows": n,
            "rows_by_grouping": rows, "difference": summary.difference, "rebuild_steps": summary.timings}


def stage_floor(world: Path, db: Path, tier: str) -> dict:
    ctx = _open(db)
    timings = {}
    for name, sql in (("", FLOOR_SQL), ("hourly_", HOURLY_FLOOR_SQL)):
        started = time.perf_counter()
        # every aggregate is read, so that the optimizer cannot drop any of them
        groups, *_sums = ctx.db.execute(
            f"SELECT count(*), sum(pod_hours), sum(cpu_hours), sum(memory_byte_hours), sum(gpu_hours) FROM ({sql})"
        ).fetchone()
        timings[f"{name}work_s"], timings[f"{name}groups"] = time.perf_counter() - started, groups
    # the hourly pass written to a table and committed: the least an hourly allocation must do
    started = time.perf_counter()
    ctx.db.execute("BEGIN")
    ctx.db.execute(f"CREATE TABLE _bench_floor AS {HOURLY_FLOOR_SQL}")
    ctx.db.execute("COMMIT")
    timings["written_work_s"] = time.perf_counter() - started
    ctx.db.execute("DROP TABLE _bench_floor")
    ctx.close()
    return timings


def stage_reference(world: Path, db: Path, tier: str) -> dict:
    from tools.allocation.reference import reference_allocation

    ctx = _open(db)
    started = time.perf_counter()
    reference = reference_allocation(ctx.db, ctx.settings.allocation)
    work = time.perf_counter() - started
    agreement = compare_with_engine(ctx.db, reference)
    ctx.close()
    return {"work_s": work, **agreement}


def compare_with_engine(con, reference: dict) -> dict:
    """Buckets of the engine vs the oracle: how many, and the largest cost difference (USD)."""
    key = "cluster, hour, bucket, namespace, workload_kind, workload_name, node_pool, estimated"
    engine = {r[:8]: r[8] for r in con.execute(f"SELECT {key}, cost FROM allocation_hours").fetchall()}
    keys = set(engine) | set(reference)
    worst = max((abs((engine.get(k) or 0.0) - (reference.get(k, {}).get("cost") or 0.0)) for k in keys), default=0.0)
    return {"engine_buckets": len(engine), "reference_buckets": len(reference),
            "only_engine": len(set(engine) - set(reference)), "only_reference": len(set(reference) - set(engine)),
            "max_bucket_difference": worst}


def stage_reconcile(world: Path, db: Path, tier: str) -> dict:
    from tools.allocation.reconcile import reconcile

    ctx = _open(db)
    started = time.perf_counter()
    out = reconcile(ctx, "all")
    work = time.perf_counter() - started
    ctx.close()
    return {"work_s": work, "ok": out.ok, "lines": len(out.lines), "max_abs_difference": out.max_abs_difference,
            "billed_total": out.billed_total, "allocated_total": out.allocated_total,
            "estimated_total": out.estimated_total}


def stage_explain(world: Path, db: Path, tier: str) -> dict:
    from tools.explain import ExplainInput, explain_change

    ctx = _open(db)
    clusters = [r[0] for r in ctx.db.execute(
        "SELECT DISTINCT cluster FROM allocation_hours WHERE cluster <> '' ORDER BY 1").fetchall()]
    started = time.perf_counter()
    per_call = {}
    for cluster in clusters:
        mark = time.perf_counter()
        out = explain_change(ctx, ExplainInput(cluster=cluster, current="this-week", baseline="previous-week"))
        per_call[cluster] = time.perf_counter() - mark
        if out.status != "ok":
            raise RuntimeError(f"explain {cluster}: {out.status}")
    work = time.perf_counter() - started
    ctx.close()
    return {"work_s": work, "max_call_s": max(per_call.values()), "calls": per_call}


def stage_waste(world: Path, db: Path, tier: str) -> dict:
    from tools.waste_detectors import WasteInput, waste_detectors

    ctx = _open(db)
    started = time.perf_counter()
    out = waste_detectors(ctx, WasteInput())
    work = time.perf_counter() - started
    ctx.close()
    return {"work_s": work, "status": out.status, "findings": len(out.findings)}


def stage_plan(world: Path, db: Path, tier: str) -> dict:
    from tools.plans.propose import ProposeInput, propose_plans
    from tools.plans.store import save_plans

    ctx = _open(db)
    started = time.perf_counter()
    out = propose_plans(ctx, ProposeInput())
    saved = save_plans(ctx, out.plans)
    work = time.perf_counter() - started
    ctx.close()
    return {"work_s": work, "status": out.status, "plans": len(saved)}


STAGES: dict[str, Callable[[Path, Path, str], dict]] = {
    "generate": stage_generate,
    "ingest_billing": stage_ingest_billing,
    "ingest_k8s": stage_ingest_k8s,
    "allocate": stage_allocate,
    "floor": stage_floor,
    "reference": stage_reference,
    "reconcile": stage_reconcile,
    "explain": stage_explain,
    "waste": stage_waste,
    "plan": stage_plan,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.stage", description="Run one benchmark stage.")
    parser.add_argument("name", choices=sorted(STAGES))
    parser.add_argument("--world", type=Path, required=True, help="the generated world folder")
    parser.add_argument("--db", type=Path, required=True, help="the warehouse file")
    parser.add_argument("--tier", default="S", choices=["demo", "S", "M", "L"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = STAGES[args.name](args.world, args.db, args.tier)
    except AllotError as err:   # a bad file or setting: its message, not a traceback
        print(f"error: {err}", flush=True)
        return 2
    print(RESULT_PREFIX + json.dumps(result, default=str), flush=True)
    return 0
