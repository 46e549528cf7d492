"""The live paths over the demo world's own files (two days of it, cluster gke-ml).

* its OpenMetrics history loaded into a real Prometheus and read through the HTTP API equals
  the same file read by ``allot ingest metrics``: hourly tables row for row, allocation per
  namespace to the cent (both warehouses hold the demo's FOCUS bill);
* its ``kubectl get -o json`` dumps served by the test API server and read by the real
  ``kubernetes`` client equal the same dumps read by ``allot ingest kubernetes --snapshot``.
"""

from __future__ import annotations

import copy
from datetime import datetime

import pytest

from tests.tools.sources.k8s_api_server import FakeKubernetesApi, write_kubeconfig
from tests.tools.sources.prometheus_server import PrometheusServer
from tools.context import Context
from tools.settings import Settings
from tools.sources.demo.billing import write_billing
from tools.sources.demo.estate import build_world
from tools.sources.demo.kubectl import write_snapshots
from tools.sources.demo.openmetrics import write_openmetrics
from tools.sources.demo.spec import WorldSpec
from tools.sources.focus import ingest_focus_files
from tools.sources.kubernetes_kinds import KINDS, list_path
from tools.sources.kubernetes_live import ingest_live_cluster
from tools.sources.kubernetes_objects import ingest_objects
from tools.sources.kubernetes_snapshot import read_snapshot_dir
from tools.sources.metrics_file import ingest_metrics_file
from tools.sources.prometheus import ingest_prometheus

pytestmark = pytest.mark.slow

CLUSTER = "gke-ml"
HOURLY_TABLES = ("pod_hours", "container_hours", "node_hours", "volume_hours", "node_gpu_hours",
                 "namespace_log_hours", "workload_spec_hours")
STATE_TABLES = ("nodes", "pods", "namespaces", "owner_edges", "workloads", "job_runs", "pod_volumes", "pvcs",
                "pvs", "hpas")
SNAPSHOT_TABLES = ("k8s_objects", "nodes", "pods", "namespaces", "owner_edges", "workloads", "pod_volumes", "pvcs",
                   "pvs", "storage_classes", "services", "hpas", "job_runs", "events", "clusters")


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    world = build_world(WorldSpec(days=2))
    metrics = write_openmetrics(world, out / "metrics")[CLUSTER]
    bills, _ledger = write_billing(world, out / "billing")
    dumps = write_snapshots(world, out / "kubernetes")[CLUSTER]
    return {"spec": world.spec, "metrics": metrics, "bills": bills, "dumps": dumps, "out": out}


def _rows(ctx: Context, table: str, exclude: str = "") -> list[tuple]:
    columns = f"* EXCLUDE ({exclude})" if exclude else "*"
    return sorted(ctx.db.execute(f"SELECT {columns} FROM {table}").fetchall(), key=repr)


def test_prometheus_equals_the_metrics_file_on_the_demo_world(tmp_path, demo_files):
    spec = demo_files["spec"]
    window = f"{spec.start:%Y-%m-%dT%H:%M}..{spec.end:%Y-%m-%dT%H:%M}"
    from_file = Context.open(tmp_path / "file.duckdb", Settings())
    from_prometheus = Context.open(tmp_path / "prometheus.duckdb", Settings())
    try:
        ingest_focus_files(from_file, demo_files["bills"])
        ingest_focus_files(from_prometheus, demo_files["bills"])
        ingest_metrics_file(from_file, demo_files["metrics"])
        with PrometheusServer(demo_files["metrics"], demo_files["out"] / "prometheus") as server:
            report = ingest_prometheus(from_prometheus, server.url, window, series_budget=500, backoff=0.01)
        assert report.cluster == CLUSTER
        for table in HOURLY_TABLES + STATE_TABLES:
            assert _rows(from_prometheus, table) == _rows(from_file, table), table
        assert report.rows["pod_hours"] == len(_rows(from_file, "pod_hours")) > 1000

        def per_namespace(ctx: Context) -> dict:
            rows = ctx.db.execute("SELECT cluster, namespace, bucket, sum(cost) FROM allocation_hours "
                                  "GROUP BY 1, 2, 3").fetchall()
            return {(c, ns, b): round(cost, 2) for c, ns, b, cost in rows}

        allocation = per_namespace(from_prometheus)
        assert allocation == per_namespace(from_file)
        assert sum(v for (c, _, b), v in allocation.items() if c == CLUSTER and b == "workload") > 0
    finally:
        from_file.close()
        from_prometheus.close()


def test_live_kubernetes_equals_the_snapshot_on_the_demo_dumps(tmp_path, demo_files):
    objects, _files, _written = read_snapshot_dir(demo_files["dumps"])
    served = {list_path(k): [] for k in KINDS}
    for kind in KINDS:
        for item in objects.get(kind.kind, []):
            item = copy.deepcopy(item)
            item.pop("kind", None)           # the API server's list items carry neither
            item.pop("apiVersion", None)
            served[list_path(kind)].append(item)
    at = datetime(2026, 11, 23, 0, 0)

    from_snapshot = Context.open(tmp_path / "snapshot.duckdb", Settings())
    live = Context.open(tmp_path / "live.duckdb", Settings())
    live.clock = lambda: at
    try:
        ingest_objects(from_snapshot, CLUSTER, objects, at)
        with FakeKubernetesApi(served) as api:
            kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token",
                                          cluster=f"gke_demo-project_europe-west4-a_{CLUSTER}")
            report = ingest_live_cluster(live, kubeconfig, None, None, page_size=10, attempts=2, backoff=0.01)
            assert not any("secret" in r.lower() for r in api.requests)
            assert sum("continue=" in r for r in api.requests) > 0
        assert report.cluster == CLUSTER
        for table in SNAPSHOT_TABLES:
            assert _rows(live, table) == _rows(from_snapshot, table), table
        assert len(_rows(live, "k8s_objects")) == sum(len(v) for v in objects.values())
    finally:
        from_snapshot.close()
        live.close()
