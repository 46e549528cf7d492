"""Samples without a timestamp are kept (taken at the ingest time) and counted in the report."""

from __future__ import annotations

from datetime import datetime

from tools.sources.after_ingest import allocation_deferred
from tools.sources.metrics_file import ingest_metrics_file


def test_untimed_samples_counted_and_placed_at_the_ingest_hour(ctx, tmp_path):
    ctx.clock = lambda: datetime(2026, 11, 20, 10, 17)
    path = tmp_path / "scrape.prom"
    path.write_text(
        "# TYPE kube_node_info gauge\n"
        'kube_node_info{cluster="c",node="n1",provider_id="aws:///z/i-1"} 1\n'
        'kube_node_info{cluster="c",node="n2",provider_id="aws:///z/i-2"} 1 1795341600000\n'
    )
    with allocation_deferred(ctx):
        report = ingest_metrics_file(ctx, path)
    assert any(w.startswith("1 samples had no timestamp") for w in report.warnings)
    nodes = {r[0] for r in ctx.db.execute("SELECT node FROM nodes").fetchall()}
    assert nodes == {"n1", "n2"}
