"""History through a real Prometheus equals history from the same OpenMetrics file.

The OpenMetrics world is loaded into a real Prometheus (Debian package) with
``promtool tsdb create-blocks-from openmetrics``; the Prometheus ingest reads it back through
the HTTP API. The same file goes through ``allot ingest metrics``. Both warehouses get the same
FOCUS bill, and must agree: hourly tables row for row, allocation per namespace to the cent.
"""

from __future__ import annotations

import csv
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.tools.sources import openmetrics_world as world
from tests.tools.sources.prometheus_server import PrometheusServer, free_port
from tools.context import Context
from tools.errors import ConfigError, SourceError
from tools.settings import Settings
from tools.sources.focus import ingest_focus_files
from tools.sources.metrics_file import ingest_metrics_file
from tools.sources.prometheus import ingest_prometheus

pytestmark = pytest.mark.slow

WINDOW = f"{world.START:%Y-%m-%dT%H:%M}..{world.START + timedelta(hours=world.HOURS):%Y-%m-%dT%H:%M}"
HOURLY_TABLES = ("pod_hours", "container_hours", "node_hours", "volume_hours", "node_gpu_hours",
                 "namespace_log_hours", "workload_spec_hours")
STATE_TABLES = ("nodes", "pods", "namespaces", "owner_edges", "workloads", "job_runs", "pod_volumes")
# node -> (FOCUS ResourceId, effective cost per hour, billed cost per hour)
NODE_BILL = {
    "ip-10-0-1-1": ("arn:aws:ec2:eu-west-1:123456789012:instance/i-0aaa1111", 0.1923, 0.2071),
    "ip-10-0-2-2": ("arn:aws:ec2:eu-west-1:123456789012:instance/i-0bbb2222", 1.0061, 1.0061),
    "gke-beta-pool-1-abcd": ("projects/proj/zones/europe-west1-b/instances/gke-beta-pool-1-abcd", 0.0475, 0.0501),
    "aks-gpu-12345-vmss000000": ("/subscriptions/s1/resourceGroups/mc_rg/providers/Microsoft.Compute/"
                                 "virtualMachineScaleSets/aks-gpu-12345-vmss", 3.0613, 3.0613),
}


def write_bill(path: Path) -> float:
    """A FOCUS 1.0 CSV with one row per node and hour; returns the total EffectiveCost (csv-summed)."""
    header = ["BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart",
              "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ChargeCategory", "ServiceName", "ResourceId",
              "ProviderName"]
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        for node, (resource_id, effective, billed) in NODE_BILL.items():
            for h in range(world.HOURS):
                start = world.START + timedelta(hours=h)
                out.writerow(["acct-1", "USD", "2026-11-01 00:00:00", "2026-12-01 00:00:00",
                              f"{start:%Y-%m-%d %H:%M:%S}", f"{start + timedelta(hours=1):%Y-%m-%d %H:%M:%S}",
                              billed, effective, "Usage", "Compute", resource_id, "Cloud"])
    with path.open(newline="") as fh:
        return sum(float(row["EffectiveCost"]) for row in csv.DictReader(fh))


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """The world's OpenMetrics file, its bill, and a real Prometheus serving the file."""
    workdir = tmp_path_factory.mktemp("prometheus")
    path = world.write(workdir / "world.om")
    bill = workdir / "bill.csv"
    total = write_bill(bill)
    with PrometheusServer(path, workdir / "server") as server:
        yield {"file": path, "bill": bill, "bill_total": total, "url": server.url}


def _open(path: Path) -> Context:
    return Context.open(path, Settings())


def _rows(ctx: Context, table: str) -> list[tuple]:
    return sorted(ctx.db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def _counts(ctx: Context) -> dict[str, int]:
    tables = [r[0] for r in ctx.db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
    return {t: ctx.db.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}


def _by_namespace(ctx: Context) -> dict[tuple[str, str], float]:
    rows = ctx.db.execute(
        "SELECT cluster, namespace, sum(cost) FROM allocation_hours GROUP BY 1, 2").fetchall()
    return {(c, ns): round(cost, 2) for c, ns, cost in rows}


@pytest.mark.parametrize("series_budget", [2000, 3])
def test_prometheus_history_equals_the_file_history(tmp_path, history, series_budget):
    from_file = _open(tmp_path / "file.duckdb")
    from_prometheus = _open(tmp_path / "prometheus.duckdb")
    try:
        ingest_focus_files(from_file, [history["bill"]])
        ingest_focus_files(from_prometheus, [history["bill"]])
        ingest_metrics_file(from_file, history["file"])
        report = ingest_prometheus(from_prometheus, history["url"], WINDOW, series_budget=series_budget,
                                   backoff=0.01)

        assert report.source == "prometheus"
        for table in HOURLY_TABLES + STATE_TABLES:
            assert _rows(from_prometheus, table) == _rows(from_file, table), table
        # the world's shape, counted by hand: pods x hours they run
        pod_hours = sum(len(p.hours) for p in world.PODS)
        assert from_prometheus.db.execute("SELECT count(*) FROM pod_hours").fetchall()[0][0] == pod_hours
        assert from_prometheus.db.execute("SELECT count(*) FROM node_hours").fetchall()[0][0] == \
            len(world.NODES) * world.HOURS
        # the pause container (image="") is left out; the counter reset counts the new value
        cpu = dict(from_prometheus.db.execute(
            "SELECT hour, cpu_usage FROM container_hours WHERE pod = 'web-7d9f-abc' AND container = 'app'").fetchall())
        h5 = world.START + timedelta(hours=5)
        assert cpu[h5] == pytest.approx(1800 * 0.137 * (1 + 0.1 * (5 % 3)) / 3600, rel=1e-9)
        # GPU: alpha has GR_ENGINE_ACTIVE from hour 3 and falls back to GPU_UTIL/100 before it;
        # gamma has no DCGM at all: NULL, never 0
        gpu = dict(from_prometheus.db.execute(
            "SELECT hour, gpu_util FROM pod_hours WHERE cluster = 'alpha' AND gpu_request > 0").fetchall())
        at = [world.START + timedelta(hours=h) for h in range(6)]
        assert gpu == {at[1]: pytest.approx(0.44), at[2]: pytest.approx(0.53), at[3]: pytest.approx(0.53),
                       at[4]: pytest.approx(0.54), at[5]: pytest.approx(0.55)}
        assert from_prometheus.db.execute(
            "SELECT count(*), count(gpu_util) FROM pod_hours WHERE cluster = 'gamma' AND gpu_request > 0"
        ).fetchall() == [(6, 0)]
        assert any("GPU usage unknown for cluster gamma" in c for c in report.caveats)

        # allocation: same per namespace to the cent, and every billed dollar allocated
        assert _by_namespace(from_prometheus) == _by_namespace(from_file)
        assert len(_by_namespace(from_prometheus)) >= 5
        allocated = from_prometheus.db.execute("SELECT sum(cost) FROM allocation_hours").fetchall()[0][0]
        assert round(allocated, 2) == round(history["bill_total"], 2)
        # row by row too, up to the last bits that SQL aggregation order may change
        def rounded(ctx):
            return sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                           for row in _rows(ctx, "allocation_hours")), key=repr)

        assert rounded(from_prometheus) == rounded(from_file)
    finally:
        from_file.close()
        from_prometheus.close()


def test_second_ingest_replaces_the_hours(ctx, history):
    ingest_prometheus(ctx, history["url"], WINDOW, backoff=0.01)
    first = _counts(ctx)
    ingest_prometheus(ctx, history["url"], WINDOW, backoff=0.01)
    second = _counts(ctx)
    for table in HOURLY_TABLES + STATE_TABLES + ("allocation_hours",):
        assert second[table] == first[table], table


def test_one_cluster_of_several(ctx, history):
    report = ingest_prometheus(ctx, history["url"], WINDOW, cluster="beta", backoff=0.01)
    assert report.cluster == "beta"
    clusters = [r[0] for r in ctx.db.execute("SELECT DISTINCT cluster FROM pod_hours").fetchall()]
    assert clusters == ["beta"]
    assert ctx.db.execute("SELECT count(*) FROM pod_hours").fetchall()[0][0] == world.HOURS


def test_cli_ingest_prometheus(tmp_path, history):
    from agent.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["ingest", "prometheus", "--url", history["url"], "--window", WINDOW,
                                      "--cluster", "alpha", "--db", str(tmp_path / "cli.duckdb")])
    assert result.exit_code == 0, result.output
    assert "prometheus (alpha):" in result.output and "pod_hours" in result.output


# --- bad input: each a clear message, and the warehouse unchanged --------------------------

@pytest.fixture
def loaded(ctx, history):
    """A warehouse that already holds history, to show failures change nothing."""
    ingest_metrics_file(ctx, history["file"])
    return ctx


def test_unreachable_prometheus(loaded):
    before = _counts(loaded)
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SourceError) as err:
        ingest_prometheus(loaded, url, WINDOW, attempts=2, backoff=0.01)
    message = str(err.value)
    assert url in message and "cannot be reached" in message and "after 2 attempts" in message
    assert _counts(loaded) == before


class _ScriptedPrometheus:
    """An HTTP server answering every API call with one fixed status and body (5xx, 4xx)."""

    def __init__(self, status: int, body: dict):
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                outer.calls += 1
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("status, body, expected, calls", [
    (503, {"status": "error", "errorType": "unavailable", "error": "too many queries"},
     "answered 503 (unavailable: too many queries) after 3 attempts", 3),
    (422, {"status": "error", "errorType": "execution",
           "error": "query processing would load too many samples into memory in query execution"},
     "rejected the series list for kube_node_info with 422 (execution: query processing would load", 1),
    (400, {"status": "error", "errorType": "bad_data", "error": "invalid parameter \"start\""},
     "with 400 (bad_data: invalid parameter \"start\")", 1),
])
def test_error_responses(loaded, status, body, expected, calls):
    before = _counts(loaded)
    server = _ScriptedPrometheus(status, body)
    try:
        with pytest.raises(SourceError) as err:
            ingest_prometheus(loaded, server.url, WINDOW, attempts=3, backoff=0.01)
    finally:
        server.close()
    assert expected in str(err.value)
    assert server.calls == calls
    assert _counts(loaded) == before


def test_unauthorised_prometheus_names_the_options(loaded):
    server = _ScriptedPrometheus(401, {"status": "error", "error": "unauthorized"})
    try:
        with pytest.raises(ConfigError, match="--bearer-token-file"):
            ingest_prometheus(loaded, server.url, WINDOW, backoff=0.01)
    finally:
        server.close()


@pytest.fixture(scope="module")
def relabelled(tmp_path_factory):
    """A real Prometheus whose cAdvisor series lost `namespace` to `exported_namespace`, and
    with no kube_pod_info at all for cluster `beta`."""
    workdir = tmp_path_factory.mktemp("relabelled")
    text = world.build().text()
    lines = []
    for line in text.splitlines():
        if line.startswith("container_memory_working_set_bytes{") and 'cluster="alpha"' in line:
            line = line.replace("namespace=", "exported_namespace=")
        if line.startswith("kube_pod_info{") and 'cluster="beta"' in line:
            continue
        lines.append(line)
    path = workdir / "relabelled.om"
    path.write_text("\n".join(lines) + "\n")
    with PrometheusServer(path, workdir / "server") as server:
        yield server.url


def test_series_without_the_expected_label(loaded, relabelled):
    before = _counts(loaded)
    with pytest.raises(SourceError) as err:
        ingest_prometheus(loaded, relabelled, WINDOW, cluster="alpha", backoff=0.01)
    message = str(err.value)
    assert "container_memory_working_set_bytes carry no `namespace` label" in message
    assert "honor_labels: true" in message
    assert _counts(loaded) == before


def test_required_series_absent(loaded, relabelled):
    before = _counts(loaded)
    with pytest.raises(SourceError) as err:
        ingest_prometheus(loaded, relabelled, WINDOW, cluster="beta", backoff=0.01)
    assert "no series for required metrics" in str(err.value) and "kube_pod_info" in str(err.value)
    assert _counts(loaded) == before


def test_window_outside_the_data(loaded, history):
    before = _counts(loaded)
    with pytest.raises(SourceError, match="no series for required metrics"):
        ingest_prometheus(loaded, history["url"], "2025-01-01..2025-01-02", backoff=0.01)
    assert _counts(loaded) == before
