"""Progress: the MB of a history file read, each cluster's build steps, the allocation's steps."""

from __future__ import annotations

import gzip
import shutil

import pytest

from tools.context import Context
from tools.settings import Settings
from tools.sources import metrics_lines
from tools.sources.metrics_file import ingest_metrics_file


ALLOCATION_STEPS = [(f"allocation: {step}", k, 9) for k, step in enumerate(
    ("attribution", "node costs", "node rates", "pod allocation", "cluster costs", "allocation hours", "owners",
     "caveats", "commit"), start=1)]


@pytest.mark.parametrize("packed", [False, True])
def test_the_ingest_reports_the_megabytes_read_then_the_build(demo_build, tmp_path, monkeypatch, packed):
    monkeypatch.setattr(metrics_lines, "SEGMENT_BYTES", 4 << 20)
    source = demo_build / "world" / "metrics" / "gke-ml.om"
    path = tmp_path / ("gke-ml.om.gz" if packed else "gke-ml.om")
    if packed:
        path.write_bytes(gzip.compress(source.read_bytes(), compresslevel=1))
    else:
        shutil.copy(source, path)
    shutil.copy(demo_build / "demo.duckdb", tmp_path / "demo.duckdb")
    heard: list[tuple[str, int, int]] = []
    ctx = Context.open(tmp_path / "demo.duckdb", Settings())
    ingest_metrics_file(ctx, path, progress=lambda step, done, total: heard.append((step, done, total)))
    ctx.close()

    total_mb = max(1, round(path.stat().st_size / 2**20))
    reading = [(done, total) for step, done, total in heard if step == f"MB of {path.name} read"]
    assert reading and {total for _, total in reading} == {total_mb}
    assert [done for done, _ in reading] == sorted(done for done, _ in reading) and reading[-1][0] == total_mb
    if not packed:   # 4 MiB segments of the text (24,161,196 bytes): about 4, 8, ... MB, then all 23
        assert total_mb == 23 and len(reading) == 6
        assert all(abs(done - 4 * k) <= 1 for k, (done, _) in enumerate(reading[:-1], start=1))
    assert heard[len(reading):] == [
        ("series and labels checked", 1, 1),
        ("gke-ml: series read", 1, 4),
        ("gke-ml: pods, owners and workloads built", 2, 4),
        ("gke-ml: hourly facts built", 3, 4),
        ("gke-ml: history written", 4, 4),
        *ALLOCATION_STEPS,                    # the rebuild after the ingest
    ]


def test_the_demo_reports_each_step_in_order(tmp_path):
    from tools.sources.demo.runner import run_demo

    heard: list[tuple[str, int, int]] = []
    ctx = Context.open(tmp_path / "demo.duckdb", Settings())
    summary = run_demo(ctx, tmp_path / "world", progress=lambda step, done, total: heard.append((step, done, total)))
    ctx.close()
    steps = [step for step, _, _ in heard]
    assert steps[:8] == ["estate and its hours modelled", "FOCUS bill written", "kubectl dumps written",
                         "OpenMetrics history written", "bill ingested", "eks-prod: kubectl dumps ingested",
                         "gke-ml: kubectl dumps ingested", "aks-web: kubectl dumps ingested"]
    for cluster in summary.clusters:     # every history file read to its end, then built
        size = (tmp_path / "world" / "metrics" / f"{cluster}.om").stat().st_size
        total = max(1, round(size / 2**20))
        assert (f"MB of {cluster}.om read", total, total) in heard
        assert (f"{cluster}: history written", 4, 4) in heard
    assert heard[-9:] == ALLOCATION_STEPS
