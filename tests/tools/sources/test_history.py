"""History from metrics files: ingest_metrics_file -> hourly series -> build_history.

The fixture ``data/three_hours.om`` is hand-written OpenMetrics: cluster c1, hours
H0 = 2024-05-01 00:00, H1 = 01:00, H2 = 02:00 UTC, one sample per series at H + 30 min,
counters with a 0 sample at H0. The expected values below are worked out by hand from it.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from tests.tools.sources.k8s_fixtures import node
from tools.errors import InputError
from tools.sources import metrics_parse
from tools.sources.kubernetes_objects import ingest_objects
from tools.sources.metrics_file import ingest_metrics_file

FIXTURE = Path(__file__).parent / "data" / "three_hours.om"
H0, H1, H2 = (datetime(2024, 5, 1, h) for h in range(3))
MIB = 1024**2
WEB = "web-7d4b9c8f6-abcde"
TRAIN = "train-28461-xyz12"
HOURLY = ("pod_hours", "container_hours", "node_hours", "workload_spec_hours", "pods", "nodes", "workloads",
          "owner_edges", "namespaces", "job_runs")


def counts(ctx) -> dict[str, int]:
    return {t: ctx.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in HOURLY}


def rows(ctx, sql, params=()):
    return ctx.db.execute(sql, list(params)).fetchall()


def pod_hours(ctx, pod):
    return rows(ctx, """SELECT hour, node, workload_kind, workload_name, fraction, cpu_request, memory_request,
                               gpu_request, cpu_limit, memory_limit, cpu_usage, memory_usage, gpu_util,
                               network_tx_bytes
                        FROM pod_hours WHERE pod = ? ORDER BY hour""", [pod])


def test_pod_hours_by_hand(ctx):
    report = ingest_metrics_file(ctx, FIXTURE)
    assert report.cluster == "c1"  # from the series' cluster label
    # web: requests app 0.5 + sidecar 0.1 cores, 1024 + 256 MiB; only app has a CPU limit -> no pod limit.
    # CPU counters: app 0 -> 900 (H0) -> 2700 (H1) -> 360 (H2, reset: counts 360);
    #               sidecar 0 -> 180 -> 540 -> 900.
    #   H0 (900 + 180) / 3600 = 0.30, H1 (1800 + 360) / 3600 = 0.60, H2 (360 + 360) / 3600 = 0.20.
    # The pod cgroup series (container="", image="") with 99999 s is left out.
    # Memory: max working set per container, summed: H0 500 + 100 MiB, H1 max(700, 600) + 100, H2 550 + 100.
    # Network: 0 -> 1000 -> 5000 -> 6000 bytes: 1000, 4000, 1000.
    web = [(H0, 0.30, 600 * MIB, 1000.0), (H1, 0.60, 800 * MIB, 4000.0), (H2, 0.20, 650 * MIB, 1000.0)]
    got = pod_hours(ctx, WEB)
    assert len(got) == 3
    for (hour, cpu, memory, net), row in zip(web, got):
        assert row[:10] == (hour, "node-a", "Deployment", "web", 1.0, pytest.approx(0.6), 1280 * MIB, 0.0, None, None)
        assert row[10] == pytest.approx(cpu)
        assert row[11:] == (memory, None, net)

    # train: Running 1 in H0; in H1 Running samples 1 (H1+10min) and 0 (H1+30min) -> fraction 0.5;
    # Succeeded from then on -> no row in H2. CPU 0 -> 3600 -> 5400: 1.0 then 0.5 cores.
    # 1 GPU requested, no DCGM -> gpu_util NULL (not 0); a memory limit on its only container.
    assert pod_hours(ctx, TRAIN) == [
        (H0, "node-g", "Job", "training", 1.0, 2.0, 4096 * MIB, 1.0, None, 8192 * MIB, 1.0, 3072 * MIB, None, None),
        (H1, "node-g", "Job", "training", 0.5, 2.0, 4096 * MIB, 1.0, None, 8192 * MIB, 0.5, 2048 * MIB, None, None),
    ]
    assert any("GPU usage unknown for cluster c1" in c for c in report.caveats)
    assert rows(ctx, "SELECT count(*) FROM data_caveats WHERE cluster = 'c1' AND code = 'no_dcgm'") == [(1,)]

    # Workloads: RS edge -> Deployment web; no RS edge -> Deployment api (hash stripped);
    # Job with CronJob -> CronJob backup; bare pod -> Pod orphan; Job without CronJob -> its workload_type.
    assert set(rows(ctx, "SELECT pod, workload_kind, workload_name FROM pods")) == {
        (WEB, "Deployment", "web"), ("api-5f6d7c8b9-qwert", "Deployment", "api"),
        ("backup-28461-abcde", "CronJob", "backup"), ("orphan", "Pod", "orphan"), (TRAIN, "Job", "training")}
    assert rows(ctx, "SELECT labels FROM workloads WHERE name = 'training'") == [({"workload_type": "training"},)]
    assert rows(ctx, "SELECT count(*), sum(fraction) FROM pod_hours") == [(8, 7.5)]


def test_nodes_from_sanitised_labels(ctx):
    ingest_metrics_file(ctx, FIXTURE)
    assert rows(ctx, """SELECT node, instance_id, node_pool, capacity_type, instance_type, zone, region,
                               gpu_allocatable FROM nodes ORDER BY node""") == [
        ("node-a", "i-0aaa", "general", "spot", "m5.large", "us-east-1a", "us-east-1", 0.0),
        ("node-g", "i-0ggg", "gpu", "on-demand", "g5.2xlarge", "us-east-1b", "us-east-1", 1.0),
    ]
    # label_eks_amazonaws_com_nodegroup -> eks.amazonaws.com/nodegroup; unknown keys lose only `label_`
    labels = rows(ctx, "SELECT labels FROM nodes WHERE node = 'node-a'")[0][0]
    assert labels["eks.amazonaws.com/nodegroup"] == "general" and labels["team"] == "platform"
    assert rows(ctx, "SELECT node, hour, cpu_allocatable, memory_allocatable, gpu_allocatable FROM node_hours "
                     "WHERE node = 'node-g' ORDER BY hour") == [
        ("node-g", h, 8.0, 32 * 1024 * MIB, 1.0) for h in (H0, H1, H2)]
    assert rows(ctx, "SELECT provider, region FROM clusters WHERE cluster = 'c1'") == [("aws", "us-east-1")]


def test_jobs_namespaces_and_unknown_nodes(ctx):
    report = ingest_metrics_file(ctx, FIXTURE)
    assert set(rows(ctx, "SELECT namespace, job, cronjob, parallelism FROM job_runs")) == {
        ("batch", "train-28461", None, 4), ("ops", "backup-28461", "backup", None)}
    assert rows(ctx, "SELECT * FROM workload_spec_hours") == [
        ("c1", H0, "batch", "Job", "train-28461", "parallelism", "4")]
    # no kube_namespace_* series: batch has no pod in H2 but may well exist, so it is not marked deleted
    assert dict(rows(ctx, "SELECT namespace, deleted_at FROM namespaces")) == {"shop": None, "ops": None, "batch": None}
    # the orphan pod's node has no series: kept, and named
    assert rows(ctx, "SELECT node FROM pod_hours WHERE pod = 'orphan'") == [("node-x",)]
    assert any("shop/orphan on node node-x" in c for c in report.caveats)
    assert any("no loki_distributor_bytes_received_total" in c for c in report.caveats)
    assert not any("network" in c for c in report.caveats)  # the network metric is there


def test_reingest_is_idempotent_and_batches_do_not_matter(ctx, monkeypatch):
    ingest_metrics_file(ctx, FIXTURE)
    first = counts(ctx)
    snapshot_rows = rows(ctx, "SELECT * FROM pod_hours ORDER BY ALL")
    monkeypatch.setattr(metrics_parse, "BATCH_SAMPLES", 7)  # many small columnar batches
    ingest_metrics_file(ctx, FIXTURE)
    assert counts(ctx) == first
    assert rows(ctx, "SELECT * FROM pod_hours ORDER BY ALL") == snapshot_rows


def test_parallel_chunks_give_the_same_history(ctx, monkeypatch, tmp_path):
    bounds = metrics_parse.chunk_bounds(FIXTURE, 4)
    assert len(bounds) == 4 and bounds[0][0] == 0 and bounds[-1][1] == FIXTURE.stat().st_size
    with FIXTURE.open("rb") as fh:
        for start, _ in bounds:
            fh.seek(start)
            assert fh.readline().startswith(b"# TYPE ")  # cut at a family's metadata
    ingest_metrics_file(ctx, FIXTURE)
    serial = rows(ctx, "SELECT * FROM pod_hours ORDER BY ALL")
    monkeypatch.setattr(metrics_parse, "PARALLEL_MIN_BYTES", 0)
    _, parsed = metrics_parse.parse_file(FIXTURE, tmp_path, workers=3)
    assert len({Path(f).name.split("-")[0] for f in parsed.files}) == 3  # three worker chunks
    ingest_metrics_file(ctx, FIXTURE)
    assert rows(ctx, "SELECT * FROM pod_hours ORDER BY ALL") == serial


def test_dcgm_engine_active_preferred_gpu_util_fallback(ctx, tmp_path):
    dcgm = """# TYPE DCGM_FI_PROF_GR_ENGINE_ACTIVE gauge
DCGM_FI_PROF_GR_ENGINE_ACTIVE{cluster="c1",gpu="0",Hostname="node-g",namespace="batch",pod="train-28461-xyz12",container="trainer"} 0.65 1714523400
# TYPE DCGM_FI_DEV_GPU_UTIL gauge
DCGM_FI_DEV_GPU_UTIL{cluster="c1",gpu="0",Hostname="node-g",namespace="batch",pod="train-28461-xyz12",container="trainer"} 70 1714523400
DCGM_FI_DEV_GPU_UTIL{cluster="c1",gpu="0",Hostname="node-g",namespace="batch",pod="train-28461-xyz12",container="trainer"} 50 1714527000
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{cluster="c1",gpu="0",Hostname="node-g"} 1024 1714523400
"""
    path = tmp_path / "with_dcgm.om"
    path.write_text(FIXTURE.read_text().replace("# EOF\n", dcgm + "# EOF\n"))
    report = ingest_metrics_file(ctx, path)
    # H0: GR_ENGINE_ACTIVE 0.65 wins over GPU_UTIL 70 %; H1: only GPU_UTIL 50 % -> 0.5
    assert rows(ctx, "SELECT hour, gpu_util FROM pod_hours WHERE pod = ? ORDER BY hour", [TRAIN]) == [
        (H0, 0.65), (H1, 0.5)]
    assert rows(ctx, "SELECT hour, node, gpu, active, fb_used_bytes, source_metric FROM node_gpu_hours ORDER BY hour") == [
        (H0, "node-g", "0", 0.65, 1024.0 * MIB, "DCGM_FI_PROF_GR_ENGINE_ACTIVE"),
        (H1, "node-g", "0", 0.5, None, "DCGM_FI_DEV_GPU_UTIL")]
    assert not any("GPU usage unknown" in c for c in report.caveats)
    assert rows(ctx, "SELECT count(*) FROM data_caveats WHERE code = 'no_dcgm'") == [(0,)]
    # pods without a GPU keep NULL, not 0
    assert rows(ctx, "SELECT count(*) FROM pod_hours WHERE pod = ? AND gpu_util IS NOT NULL", [WEB]) == [(0,)]


def test_snapshot_facts_survive_history(ctx):
    """A snapshot knows more (all labels, backoffLimit); history merges instead of clobbering."""
    snap_node = node("node-a", "aws:///us-east-1a/i-0aaa", {"eks.amazonaws.com/nodegroup": "general",
                                                           "owner": "platform-team"})
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "train-28461", "namespace": "batch", "labels": {"workload_type": "training",
                                                                                 "team": "ml"}},
           "spec": {"backoffLimit": 3, "parallelism": 4}, "status": {}}
    ingest_objects(ctx, "c1", {"Node": [snap_node], "Job": [job]}, datetime(2024, 5, 1, 0, 10))
    ingest_metrics_file(ctx, FIXTURE)
    labels = rows(ctx, "SELECT labels FROM nodes WHERE node = 'node-a'")[0][0]
    assert labels["owner"] == "platform-team" and labels["eks.amazonaws.com/capacityType"] == "SPOT"
    assert rows(ctx, "SELECT capacity_type FROM nodes WHERE node = 'node-a'") == [("spot",)]
    assert rows(ctx, "SELECT backoff_limit, parallelism FROM job_runs WHERE job = 'train-28461'") == [(3, 4)]
    assert rows(ctx, "SELECT labels FROM workloads WHERE kind = 'Job' AND name = 'training'") == [
        ({"workload_type": "training", "team": "ml"},)]


def test_real_cadvisor_text_cannot_be_attributed(ctx, shared_data):
    """cAdvisor's own labels (id, name, image) name no pod: reported, nothing attributed, no crash."""
    report = ingest_metrics_file(ctx, shared_data / "kubernetes" / "prometheus_metrics", cluster="lab")
    text = " ".join(report.caveats)
    assert "cannot be attributed" in text
    assert "4 container_cpu_usage_seconds_total" in text  # one series per cpu00..cpu03
    assert "1 container_memory_working_set_bytes" in text
    assert "kube_pod_info" in text  # the required kube-state-metrics series are missing
    assert rows(ctx, "SELECT count(*) FROM pod_hours") == [(0,)]
    assert {r[0] for r in rows(ctx, "SELECT code FROM data_caveats WHERE cluster = 'lab'")} >= {
        "unattributed_series", "missing_required_metrics"}


def test_bad_files_leave_the_warehouse_unchanged(ctx, tmp_path):
    ingest_metrics_file(ctx, FIXTURE)
    before = counts(ctx)
    broken = tmp_path / "broken.om"
    broken.write_text(FIXTURE.read_text().replace(
        'kube_pod_info{cluster="c1",namespace="ops"', 'kube_pod_info{cluster="c1",namespace=ops'))
    with pytest.raises(InputError, match="broken.om: not valid OpenMetrics"):
        ingest_metrics_file(ctx, broken)
    unlabelled = tmp_path / "no_cluster.om"
    unlabelled.write_text(FIXTURE.read_text().replace('cluster="c1",', ""))
    with pytest.raises(InputError, match="no `cluster` label; pass --cluster NAME"):
        ingest_metrics_file(ctx, unlabelled)
    nothing = tmp_path / "other.prom"
    shutil.copy(FIXTURE, nothing)
    nothing.write_text("# TYPE up gauge\nup 1 1714523400000\n")
    with pytest.raises(InputError, match="none of the series allot reads"):
        ingest_metrics_file(ctx, nothing)
    assert counts(ctx) == before


def test_cli_ingest_metrics(tmp_path):
    from typer.testing import CliRunner

    from agent.cli import _register, app

    _register()
    result = CliRunner().invoke(app, ["ingest", "metrics", str(FIXTURE), "--db", str(tmp_path / "w.duckdb")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("metrics (c1): 2 nodes, 5 owner_edges, 5 pods")
    assert "8 pod_hours" in result.output


def test_one_file_several_clusters(ctx, tmp_path):
    """Each series' cluster label picks its cluster; both land in one transaction."""
    blocks, out = [], []
    for line in FIXTURE.read_text().splitlines():
        if line.startswith("# TYPE"):
            blocks.append([line, []])
        elif line != "# EOF":
            blocks[-1][1].append(line)
    for type_line, samples in blocks:
        out += [type_line, *samples, *(s.replace('cluster="c1"', 'cluster="c2"') for s in samples)]
    path = tmp_path / "two.om"
    path.write_text("\n".join(out + ["# EOF"]) + "\n")
    report = ingest_metrics_file(ctx, path)
    assert report.cluster is None and report.rows["pod_hours"] == 16
    assert rows(ctx, "SELECT cluster, count(*), sum(cpu_usage) FROM pod_hours GROUP BY 1 ORDER BY 1") == [
        ("c1", 8, pytest.approx(2.6)), ("c2", 8, pytest.approx(2.6))]
