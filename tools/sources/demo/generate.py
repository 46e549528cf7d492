"""``generate_world(out_dir, spec) -> WorldFiles``: write a world's standard files and its ground truth.

Layout of ``out_dir``::

    billing/focus-<provider>-<account>.csv      FOCUS 1.2 (AWS, GCP) / 1.3 (Azure), hourly
    kubernetes/<cluster>/<kind>.json            kubectl get -A -o json List dumps (final snapshot)
    metrics/<cluster>.om                        OpenMetrics, one sample per series and hour
                                                (<cluster>.om.gz with spec.metrics_gzip)
    ground_truth.json                           stories, controls, explain figures, bill totals

Everything is a pure function of the spec: the same spec writes byte-identical files.
"""

from __future__ import annotations

import logging
import shutil
import time
from pathlib import Path

from pydantic import BaseModel, Field

from tools.progress import ProgressCallback, no_progress
from tools.sources.demo.billing import write_billing
from tools.sources.demo.estate import build_world
from tools.sources.demo.kubectl import write_snapshots
from tools.sources.demo.openmetrics import write_openmetrics
from tools.sources.demo.spec import WorldSpec
from tools.sources.demo.stories import build_ground_truth
from tools.sources.demo.truth_model import GroundTruth

log = logging.getLogger(__name__)


class WorldFiles(BaseModel):
    """What ``generate_world`` wrote."""

    out_dir: Path
    spec: WorldSpec
    billing: list[Path] = Field(description="FOCUS files, one per cluster account")
    kubernetes: dict[str, Path] = Field(description="cluster -> folder of kubectl List dumps")
    metrics: dict[str, Path] = Field(description="cluster -> OpenMetrics file")
    ground_truth_path: Path
    ground_truth: GroundTruth
    seconds: float


def generate_world(out_dir: Path | str, spec: WorldSpec | None = None, processes: int = 1,
                   progress: ProgressCallback = no_progress) -> WorldFiles:
    """Write the world `spec` describes into `out_dir` (replacing what a previous run left there).

    ``processes`` > 1 writes the clusters' history files in that many processes at once (the
    same bytes); for the benchmark tiers, whose history files take most of the time.
    ``progress`` hears of each of the four steps (the estate, the bill, the dumps, the history).
    """
    spec = spec or WorldSpec.preset("demo")
    out = Path(out_dir)
    started = time.perf_counter()
    for part in ("billing", "kubernetes", "metrics"):
        if (out / part).exists():
            shutil.rmtree(out / part)
    out.mkdir(parents=True, exist_ok=True)
    world = build_world(spec)
    progress("estate and its hours modelled", 1, 4)
    billing, ledger = write_billing(world, out / "billing")
    if spec.billing_format == "parquet":
        billing = [_to_parquet(p) for p in billing]
    log.info("demo: wrote %d billing rows", ledger.rows)
    progress("FOCUS bill written", 2, 4)
    kubernetes = write_snapshots(world, out / "kubernetes")
    progress("kubectl dumps written", 3, 4)
    metrics = write_openmetrics(world, out / "metrics", compress=spec.metrics_gzip, processes=processes)
    progress("OpenMetrics history written", 4, 4)
    truth = build_ground_truth(world, ledger)
    truth_path = out / "ground_truth.json"
    truth_path.write_text(truth.model_dump_json(indent=2) + "\n")
    return WorldFiles(out_dir=out, spec=spec, billing=billing, kubernetes=kubernetes, metrics=metrics,
                      ground_truth_path=truth_path, ground_truth=truth, seconds=time.perf_counter() - started)


NUMERIC = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity", "PricingQuantity",
           "ListUnitPrice", "ContractedUnitPrice", "CommitmentDiscountQuantity", "PricingCurrencyContractedUnitPrice",
           "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice")
TIMESTAMPS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")


def _to_parquet(csv_path: Path) -> Path:
    """The same rows as typed Parquet (decimals as DOUBLE, periods as TIMESTAMP, the rest text)."""
    import csv

    import duckdb

    with csv_path.open(newline="") as fh:
        header = next(csv.reader(fh))
    columns = []
    for name in header:
        if name in NUMERIC:
            columns.append(f'TRY_CAST(NULLIF("{name}", \'\') AS DOUBLE) AS "{name}"')
        elif name in TIMESTAMPS:
            columns.append(f'CAST(replace("{name}", \'Z\', \'\') AS TIMESTAMP) AS "{name}"')
        else:
            columns.append(f'NULLIF("{name}", \'\') AS "{name}"')
    target = csv_path.with_suffix(".parquet")
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT {', '.join(columns)} FROM read_csv('{csv_path}', all_varchar=true, header=true)) "
                    f"TO '{target}' (FORMAT parquet)")
    finally:
        con.close()
    csv_path.unlink()
    return target
