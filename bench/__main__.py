"""``python -m bench --tier S|M|L [--out bench/results.md] [--runs 3]``: the allot benchmark.

Generates the tier's world once (reused when ``<work>/<tier>/spec.json`` matches the spec),
then runs every stage ``--runs`` times, each run on a fresh warehouse, each stage in its own
child process (wall, CPU, peak RSS from ``os.wait4``) with the tier's DuckDB memory limit
(:func:`memory_limit`), and writes the medians, the ratios and the targets to the results
file. Results of earlier tiers in the same file are kept: the file holds one section per tier
(see bench.report).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.measure import Measurement, StageFailed, run_stage
from bench.report import TierResult, write_results
from bench.stages import CLUSTERS_ENV, RESULT_PREFIX, warehouse_files

log = logging.getLogger("bench")

RUN_STAGES = ["ingest_billing", "ingest_k8s", "allocate", "floor", "reconcile", "explain", "waste", "plan"]
MEMORY_ENV = "ALLOT_WAREHOUSE__MEMORY_LIMIT"
# Tier L's warehouse may hold 12 GB before it spills: the tier's target allows 16 GiB of RSS, and
# a stage's peak stays about 1 GiB above the limit. S and M keep the default 3 GB (M's target: 4 GiB).
TIER_MEMORY_LIMIT = {"L": "12GB"}
# Disk a tier takes under --work at its peak, measured (bench/results.md): the world's files
# (tools.sources.demo.spec.FILES_GB), then this much more in GB for the warehouse and DuckDB's
# spill beside them during the history ingest, at the tier's memory limit.
TIER_RUN_GB = {"S": 1.0, "M": 4.0, "L": 57.0}


def disk_shortfall(tier: str, free_bytes: int, world_ready: bool, replaced_bytes: int = 0) -> str | None:
    """A warning when the disk has less room than the tier takes (the world only if it is still
    to be generated), else None. ``replaced_bytes``: what the run frees when it replaces the last
    run's warehouse."""
    from tools.sources.demo.spec import FILES_GB

    world_gb, run_gb = FILES_GB[tier], TIER_RUN_GB[tier]
    need = run_gb + (0.0 if world_ready else world_gb)
    if free_bytes + replaced_bytes >= need * 1e9:
        return None
    freed = f" (and {replaced_bytes / 1e9:.1f} GB the last run's warehouse frees)" if replaced_bytes else ""
    return (f"{free_bytes / 1e9:.1f} GB free{freed}, and tier {tier} takes about {need:.0f} GB "
            f"({'' if world_ready else f'its world {world_gb:g} GB, '}the warehouse and DuckDB's spill "
            f"{run_gb:g} GB): the run may stop when the disk is full")


def reclaimable_bytes(db: Path) -> int:
    """The disk the warehouse ``db`` and its WAL take, which a run that ingests frees when its
    first stage replaces them."""
    return sum(p.stat().st_blocks * 512 for p in warehouse_files(db) if p.is_file())


def memory_limit(tier: str) -> str:
    """The DuckDB memory limit the tier's stages run with: ``ALLOT_WAREHOUSE__MEMORY_LIMIT`` when
    set, else the tier's own, else the warehouse default."""
    from tools.settings import WarehouseSettings

    return os.environ.get(MEMORY_ENV) or TIER_MEMORY_LIMIT.get(tier) or WarehouseSettings().memory_limit


def _result(m: Measurement) -> dict:
    for line in reversed(m.output.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise RuntimeError(f"stage {m.stage} printed no result line:\n{m.output[-2000:]}")


def _world_ready(world: Path, tier: str) -> bool:
    from tools.sources.demo import WorldSpec

    marker = world / "spec.json"
    if not marker.is_file() or not (world / "ground_truth.json").is_file():
        return False
    # validated, so a field added since (at its default) does not force a regeneration
    return WorldSpec.model_validate_json(marker.read_text()) == WorldSpec.preset(tier)  # type: ignore[arg-type]


def _measure(stage: str, world: Path, db: Path, tier: str) -> tuple[Measurement, dict]:
    log.info("tier %s: stage %s ...", tier, stage)
    m = run_stage(stage, ["--world", str(world), "--db", str(db), "--tier", tier])
    result = _result(m)
    log.info("tier %s: stage %s wall %.1fs cpu %.1fs rss %.0f MiB work %.2fs", tier, stage, m.wall_s, m.cpu_s,
             m.peak_rss_mib, result.get("work_s", 0.0))
    return m, result


INGEST_STAGES = ("ingest_billing", "ingest_k8s")


def run_tier(tier: str, work: Path, runs: int, reference: bool, ingest_runs: int | None = None,
             out: Path | None = None) -> TierResult:
    """Generate (or reuse) the tier's world and measure every stage ``runs`` times.

    With ``ingest_runs`` below ``runs``, the later runs skip the two ingest stages and measure
    the other stages again on the warehouse the last ingest built (for tiers whose ingest takes
    too long to repeat on the machine at hand; the report says how many runs each stage had).
    """
    ingest_runs = runs if ingest_runs is None else ingest_runs
    if out is not None:
        log.info("tier %s: the results file is rewritten after every stage: %s", tier, out)
    world, db = work / tier, work / f"{tier}.duckdb"
    os.environ[MEMORY_ENV] = limit = memory_limit(tier)   # every stage's process opens the warehouse with it
    log.info("tier %s: DuckDB memory limit %s", tier, limit)
    result = TierResult(tier=tier, runs=runs, load_before=os.getloadavg(), clusters=os.environ.get(CLUSTERS_ENV, ""),
                        memory_limit=limit)
    ready = _world_ready(world, tier)
    # the first ingest stage deletes the last run's warehouse: its room is this run's too
    shortfall = disk_shortfall(tier, shutil.disk_usage(work).free, ready, reclaimable_bytes(db) if ingest_runs else 0)
    if shortfall:
        log.warning("tier %s: %s", tier, shortfall)
    if ready:
        log.info("tier %s: reusing the world in %s", tier, world)
        saved = json.loads((world / "generated.json").read_text()) if (world / "generated.json").is_file() else {}
        measured = saved.pop("measurement", None)
        result.generated = Measurement(**measured, output="") if measured else None
        result.world = saved
    else:
        m, info = _measure("generate", world, db, tier)
        result.generated = m
        result.world = info
        measurement = {"stage": m.stage, "wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_rss_mib": m.peak_rss_mib}
        (world / "generated.json").write_text(json.dumps({**info, "measurement": measurement}) + "\n")
    stages = RUN_STAGES + (["reference"] if reference else [])
    for run in range(runs):
        for stage in stages:
            if stage in INGEST_STAGES and run >= ingest_runs:
                continue
            m, info = _measure(stage, world, db, tier)
            result.add(run, stage, m, info)
            if out is not None:
                result.load_after = os.getloadavg()
                write_results(out, result)
    result.load_after = os.getloadavg()
    return result


def argument_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, before a run that may take an hour; None when nothing is.

    Creates ``--work`` and the results file's folder, so that a folder that cannot be written
    stops the run here and not after its first stage.
    """
    from tools.errors import ConfigError
    from tools.settings import load_settings
    from tools.sources.demo.estate import CLUSTER_NAMES

    try:
        load_settings()   # every stage opens the warehouse with the ALLOT_* settings
    except ConfigError as err:
        return str(err)
    if args.runs < 1:
        return "--runs must be at least 1"
    if args.ingest_runs is not None and not 0 <= args.ingest_runs <= args.runs:
        return (f"--ingest-runs must be between 0 (keep the ingest figures of the results file's last run of the "
                f"tier) and --runs ({args.runs}), not {args.ingest_runs}")
    unknown = sorted(set(filter(None, args.clusters.split(","))) - set(CLUSTER_NAMES))
    if unknown:
        return f"--clusters: no cluster {', '.join(unknown)} in the demo world; its clusters are {', '.join(CLUSTER_NAMES)}"
    for flag, folder in (("--work", args.work), ("--out", args.out.parent)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as err:
            return f"{flag}: cannot write in the folder {folder} ({err.strerror}); give a folder you can write"
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Benchmark allot on a demo-world tier.")
    parser.add_argument("--tier", required=True, choices=["S", "M", "L"])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results.md")
    parser.add_argument("--runs", type=int, default=3, help="runs per stage; the report shows the median (default 3)")
    parser.add_argument("--ingest-runs", type=int, default=None,
                        help="runs of the two ingest stages (default: --runs); later runs reuse the warehouse")
    parser.add_argument("--clusters", default="",
                        help="comma-separated clusters whose kubectl dumps and history are ingested (default: all); "
                             "the bill is always ingested whole. For a partial run where the full tier cannot finish")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("ALLOT_BENCH_WORK",
                                                                          Path(tempfile.gettempdir()) / "allot-bench")),
                        help="folder for the generated worlds and warehouses (default $TMPDIR/allot-bench)")
    parser.add_argument("--reference", choices=["auto", "yes", "no"], default="auto",
                        help="run the plain-Python oracle (auto: tier S only)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    problem = argument_problem(args)
    if problem:
        parser.error(problem)
    reference = args.reference == "yes" or (args.reference == "auto" and args.tier == "S")
    if args.clusters:
        os.environ[CLUSTERS_ENV] = args.clusters
    try:
        result = run_tier(args.tier, args.work, args.runs, reference, args.ingest_runs, args.out)
    except StageFailed as err:
        kept = (f"{args.out} keeps the stages measured before it." if args.out.is_file()
                else "No stage finished, so no results file was written.")
        print(f"python -m bench: {err}\n{kept}", file=sys.stderr)
        return 1
    write_results(args.out, result)
    print(f"{args.out}: tier {args.tier} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
