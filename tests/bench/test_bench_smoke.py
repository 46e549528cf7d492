"""Smoke test of the benchmark: tier S once through ``python -m bench``, correctness only.

It checks no time. It checks that the run completes every stage and that its warehouse is
right: per day, the allocation's buckets add up to the FOCUS files' EffectiveCost (summed
here with the csv module, spreading each row evenly over its hours), the reconcile stage
found every cluster-day within a cent, and the plain-Python oracle agrees with the engine on
every bucket to the cent. ``ALLOT_BENCH_WORK`` points at a folder to reuse a generated world.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tools.allocation.reference import reference_allocation
from tools.settings import AllocationSettings

REPO = Path(__file__).resolve().parents[2]
CENT = 0.01
pytestmark = pytest.mark.slow


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "").replace("T", " ")[:19])


def bill_per_day(billing: Path) -> dict:
    """EffectiveCost per UTC day from the FOCUS CSVs, each row spread evenly over its hours."""
    days: dict = defaultdict(float)
    for path in sorted(billing.glob("*.csv")):
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh):
                start, end = _ts(row["ChargePeriodStart"]), _ts(row["ChargePeriodEnd"])
                hours = max(1, int((end - start) / timedelta(hours=1)))
                cost = float(row["EffectiveCost"] or 0)
                for h in range(hours):
                    days[(start + timedelta(hours=h)).date()] += cost / hours
    return days


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory) -> Path:
    work = Path(os.environ.get("ALLOT_BENCH_WORK") or tmp_path_factory.mktemp("bench"))
    out = tmp_path_factory.mktemp("results") / "results.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOT_")}
    subprocess.run([sys.executable, "-m", "bench", "--tier", "S", "--runs", "1", "--reference", "no",
                    "--work", str(work), "--out", str(out)], cwd=REPO, env=env, check=True, timeout=900)
    assert out.is_file()
    return work, out


def test_every_stage_ran_and_reconciled(bench_run):
    work, out = bench_run
    data = json.loads(out.with_suffix(".json").read_text())["S"]
    assert set(data["stages"]) >= {"ingest_billing", "ingest_k8s", "allocate", "floor", "reconcile", "explain",
                                   "waste", "plan"}
    reconcile = data["stages"]["reconcile"][0]["info"]
    assert reconcile["ok"] and reconcile["max_abs_difference"] < CENT
    assert reconcile["lines"] >= 3 * 14
    assert "## Tier S" in out.read_text()


def test_stages_ran_with_the_tiers_memory_limit(bench_run):
    """No ALLOT_* variable is set for the run, so tier S's stages open the warehouse at the
    default 3GB, and the results say so."""
    _, out = bench_run
    data = json.loads(out.with_suffix(".json").read_text())["S"]
    expected = duckdb.connect()
    expected.execute("SET memory_limit = '3GB'")
    assert data["memory_limit"] == "3GB"
    assert data["stages"]["ingest_billing"][0]["info"]["memory_limit"] == \
        expected.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert "DuckDB memory limit 3GB." in out.read_text()


def test_buckets_equal_the_focus_files_per_day(bench_run):
    work, _ = bench_run
    expected = bill_per_day(work / "S" / "billing")
    con = duckdb.connect(str(work / "S.duckdb"), read_only=True)
    got = dict(con.execute("SELECT CAST(hour AS DATE), sum(cost) FROM allocation_hours WHERE NOT estimated "
                           "GROUP BY 1").fetchall())
    con.close()
    assert set(got) == set(expected)
    for day, cost in expected.items():
        assert got[day] == pytest.approx(cost, abs=CENT), day


def test_oracle_agrees_with_engine_per_bucket(bench_run):
    work, _ = bench_run
    con = duckdb.connect(str(work / "S.duckdb"), read_only=True)
    key = "cluster, hour, bucket, namespace, workload_kind, workload_name, node_pool, estimated"
    engine = {r[:8]: r[8] for r in con.execute(f"SELECT {key}, cost FROM allocation_hours").fetchall()}
    reference = reference_allocation(con, AllocationSettings())
    con.close()
    assert set(engine) == set(reference)
    worst = max(abs(engine[k] - (v.get("cost") or 0.0)) for k, v in reference.items())
    assert worst < CENT



def test_a_failed_stage_stops_the_run_with_its_own_message(bench_run, tmp_path):
    """A stage that fails on its input (here a bill whose EffectiveCost is not a number) stops
    the benchmark with the stage's error naming the file, exit code 1, no traceback, and no
    results file claiming a run."""
    work, _ = bench_run
    world = tmp_path / "work" / "S"
    world.mkdir(parents=True)
    for item in (work / "S").iterdir():
        if item.name != "billing":
            (world / item.name).symlink_to(item)
    (world / "billing").mkdir()
    bills = sorted((work / "S" / "billing").glob("*.csv"))
    for bill in bills[1:]:
        (world / "billing" / bill.name).symlink_to(bill)
    with bills[0].open(newline="") as fh:
        rows = list(csv.reader(fh))
    rows[3][rows[0].index("EffectiveCost")] = "twelve"
    with (world / "billing" / bills[0].name).open("w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = tmp_path / "results.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLOT_")}
    done = subprocess.run([sys.executable, "-m", "bench", "--tier", "S", "--runs", "1", "--reference", "no",
                           "--work", str(tmp_path / "work"), "--out", str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "python -m bench: stage ingest_billing failed (exit 2):" in done.stderr
    assert f"error: {world / 'billing' / bills[0].name}" in done.stderr and "EffectiveCost" in done.stderr
    assert "Traceback" not in done.stderr
    assert "No stage finished, so no results file was written." in done.stderr
    assert not out.exists()
