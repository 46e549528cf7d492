"""Kubernetes state from objects: ingest_objects, the List dump reader and the CLI command.

Expected values are worked out by hand from the fixtures (tests/tools/sources/k8s_fixtures.py)
and the real kubectl output under shared/data/kubernetes.
"""

from __future__ import annotations

import copy
import json
import shutil
from datetime import datetime

import pytest
import yaml

from tests.tools.sources.k8s_fixtures import node, pod, snapshot
from tools.errors import InputError
from tools.sources.kubernetes_objects import ingest_objects
from tools.sources.kubernetes_snapshot import read_list_dump, read_snapshot_dir

AT = datetime(2024, 5, 1, 12, 0)
AT2 = datetime(2024, 5, 2, 12, 0)
GIB = 1024**3

TABLES = ("k8s_objects", "nodes", "namespaces", "owner_edges", "workloads", "pods", "pod_volumes", "pvcs",
          "pvs", "storage_classes", "services", "hpas", "job_runs", "events", "clusters")


def counts(ctx) -> dict[str, int]:
    return {t: ctx.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def rows(ctx, sql, params=()):
    return ctx.db.execute(sql, list(params)).fetchall()


def test_nodes_get_bill_ids_pools_and_capacity(ctx):
    ingest_objects(ctx, "prod", snapshot(), AT)
    got = {r[0]: r[1:] for r in rows(ctx, """
        SELECT node, instance_id, node_pool, capacity_type, instance_type, region, zone,
               cpu_allocatable, memory_allocatable, gpu_allocatable FROM nodes WHERE cluster = 'prod'""")}
    assert got["ip-10-0-1-1.ec2.internal"] == (
        "i-0abc123", "general", "spot", "m5.xlarge", "us-east-1", "us-east-1a", 4.0, 16 * GIB, 0.0)
    assert got["gke-prod-gpu-pool-abcd"] == (
        "gke-prod-gpu-pool-abcd", "gpu-pool", "spot", "a2-highgpu-1g", "us-central1", "us-central1-a",
        11.5, 80 * GIB, 1.0)
    assert got["aks-nodepool1-123-vmss000003"] == (
        "/subscriptions/sub-1/resourcegroups/mc_rg_aks_eastus/providers/microsoft.compute/"
        "virtualmachinescalesets/aks-nodepool1-123-vmss",
        "nodepool1", "on-demand", "Standard_D4s_v3", "eastus", "eastus-1", 3.86, 13 * GIB, 0.0)


def test_volumes_services_storage_classes_hpas(ctx):
    ingest_objects(ctx, "prod", snapshot(), AT)
    assert dict(rows(ctx, "SELECT pv, volume_id FROM pvs")) == {
        "pvc-aws-csi": "vol-0aaa111",
        "pv-aws-intree": "vol-0bbb222",
        "pv-gcp-csi": "projects/my-project/zones/us-central1-a/disks/pvc-123",
        "pv-gcp-intree": "old-disk-1",
        "pv-azure-csi": "/subscriptions/sub-1/resourcegroups/mc_rg/providers/microsoft.compute/disks/pvc-az-1",
        "pv-azure-intree": "/subscriptions/sub-1/resourcegroups/mc_rg/providers/microsoft.compute/disks/d2",
    }
    assert rows(ctx, "SELECT capacity_bytes, claim_namespace, claim_name, phase FROM pvs WHERE pv = 'pvc-aws-csi'") == [
        (20 * GIB, "shop", "data-web", "Bound")]
    assert rows(ctx, "SELECT volume_name, storage_class, request_bytes, phase FROM pvcs") == [
        ("pvc-aws-csi", "gp3", 20 * GIB, "Bound")]
    assert dict(rows(ctx, "SELECT service, lb_id FROM services")) == {
        "web": "a1b2c3d4e5f6", "gke-lb": "34.120.1.2", "internal": None}
    assert rows(ctx, "SELECT lb_ingress FROM services WHERE service = 'web'") == [
        ("a1b2c3d4e5f6-1234567890.us-east-1.elb.amazonaws.com",)]
    assert dict(rows(ctx, "SELECT name, is_default FROM storage_classes")) == {"gp3": True, "io2": False}
    assert rows(ctx, "SELECT parameters FROM storage_classes WHERE name = 'io2'") == [
        ({"type": "io2", "iopsPerGB": "50"},)]
    assert rows(ctx, "SELECT target_kind, target_name, min_replicas, max_replicas, metric_resources FROM hpas") == [
        ("Deployment", "web", 2, 10, ["cpu", "memory"])]


def test_owners_workloads_jobs_and_events(ctx):
    ingest_objects(ctx, "prod", snapshot(), AT)
    assert set(rows(ctx, "SELECT namespace, pod, owner_kind, workload_kind, workload_name FROM pods")) == {
        ("shop", "web-7d4b9c8f6-abcde", "ReplicaSet", "Deployment", "web"),
        ("batch", "nightly-28461-xk2p9", "Job", "CronJob", "nightly"),
        # a Job without a CronJob groups by its workload_type label (DESIGN rule 8)
        ("batch", "eval-run-7-q8w7e", "Job", "Job", "ai-evals"),
        ("shop", "debug", None, "Pod", "debug"),
    }
    assert set(rows(ctx, "SELECT namespace, kind, name FROM workloads")) == {
        ("shop", "Deployment", "web"), ("batch", "CronJob", "nightly"), ("batch", "Job", "ai-evals"),
        ("shop", "Pod", "debug")}
    assert rows(ctx, "SELECT labels FROM workloads WHERE name = 'web'") == [({"app": "web", "owner": "alice"},)]
    assert set(rows(ctx, "SELECT kind, name, owner_kind, owner_name FROM owner_edges")) == {
        ("ReplicaSet", "web-7d4b9c8f6", "Deployment", "web"),
        ("Pod", "web-7d4b9c8f6-abcde", "ReplicaSet", "web-7d4b9c8f6"),
        ("Pod", "nightly-28461-xk2p9", "Job", "nightly-28461"),
        ("Pod", "eval-run-7-q8w7e", "Job", "eval-run-7"),
        ("Job", "nightly-28461", "CronJob", "nightly"),
    }
    assert rows(ctx, "SELECT * FROM pod_volumes") == [("prod", "shop", "web-7d4b9c8f6-abcde", "data-web")]
    assert set(rows(ctx, """SELECT job, cronjob, succeeded, failed, active, parallelism, completions, backoff_limit,
                                   start_time, completion_time FROM job_runs""")) == {
        ("nightly-28461", "nightly", 1, 0, 0, 1, 1, 2, datetime(2024, 5, 1, 2, 0, 5), datetime(2024, 5, 1, 2, 10)),
        ("eval-run-7", None, 0, 3, 4, 4, 8, 6, datetime(2024, 5, 1, 3, 0), None),
    }
    assert rows(ctx, "SELECT involved_kind, involved_name, reason, count, first_ts, last_ts FROM events") == [
        ("Job", "eval-run-7", "BackoffLimitExceeded", 3, datetime(2024, 5, 1, 3, 10), datetime(2024, 5, 1, 3, 20))]
    assert dict(rows(ctx, "SELECT namespace, labels FROM namespaces")) == {
        "shop": {"team": "storefront"}, "batch": {"team": "ml"}}
    raw = rows(ctx, "SELECT raw->>'$.spec.schedule' FROM k8s_objects WHERE kind = 'CronJob'")
    assert raw == [("0 2 * * *",)]


def test_reingest_replaces_without_duplicates(ctx):
    ingest_objects(ctx, "prod", snapshot(), AT)
    first = counts(ctx)
    assert first["k8s_objects"] == 28
    ingest_objects(ctx, "prod", snapshot(), AT)
    assert counts(ctx) == first

    # A later snapshot without the debug pod: k8s_objects holds the cluster's current pods,
    # the pods table keeps the pod's history (first/last seen).
    later = snapshot()
    later["Pod"] = [p for p in later["Pod"] if p["metadata"]["name"] != "debug"]
    ingest_objects(ctx, "prod", later, AT2)
    assert rows(ctx, "SELECT count(*) FROM k8s_objects WHERE kind = 'Pod'") == [(3,)]
    assert rows(ctx, "SELECT first_seen, last_seen FROM pods WHERE pod = 'debug'") == [(AT, AT)]
    assert rows(ctx, "SELECT first_seen, last_seen FROM pods WHERE pod = 'web-7d4b9c8f6-abcde'") == [(AT, AT2)]
    assert counts(ctx)["pods"] == 4


def test_bad_object_leaves_the_warehouse_unchanged(ctx):
    ingest_objects(ctx, "prod", snapshot(), AT)
    before = counts(ctx)
    broken = snapshot()
    broken["Node"][0]["status"]["allocatable"]["cpu"] = "12x"
    broken["Pod"].append(pod("new-pod", "shop", "ip-10-0-1-1.ec2.internal"))
    with pytest.raises(InputError) as err:
        ingest_objects(ctx, "prod", broken, AT2)
    assert "Node ip-10-0-1-1.ec2.internal" in str(err.value)
    assert "status.allocatable.cpu" in str(err.value) and "'12x'" in str(err.value)
    assert counts(ctx) == before
    assert rows(ctx, "SELECT count(*) FROM pods WHERE pod = 'new-pod'") == [(0,)]


def test_secrets_are_never_stored(ctx):
    objects = {"Secret": [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "a"},
                           "data": {"password": "aHVudGVyMg=="}}],
               "Node": [node("n1", "aws:///us-east-1a/i-1", {})]}
    report = ingest_objects(ctx, "prod", objects, AT)
    assert any("Secrets are never stored" in w for w in report.warnings)
    assert rows(ctx, "SELECT kind FROM k8s_objects") == [("Node",)]


def test_real_list_dump_pods_on_unknown_node_are_kept_and_named(ctx, shared_data):
    objects = read_list_dump(shared_data / "kubernetes" / "list1-raw.json")
    assert {k: len(v) for k, v in objects.items()} == {"Pod": 2}
    report = ingest_objects(ctx, "minikube", objects, AT)
    assert rows(ctx, "SELECT pod, node, workload_kind, workload_name, labels FROM pods ORDER BY pod") == [
        ("t1", "116-control-plane", "Pod", "t1", {"run": "t1"}),
        ("t2", "116-control-plane", "Pod", "t2", {"run": "t2"}),
    ]
    warning = " ".join(report.warnings)
    assert "default/t1 on node 116-control-plane" in warning and "default/t2 on node 116-control-plane" in warning
    caveat = rows(ctx, "SELECT message FROM data_caveats WHERE code = 'pod_on_unknown_node'")[0][0]
    assert "default/t1" in caveat
    # Once the node is ingested, the caveat is gone.
    objects["Node"] = [node("116-control-plane", "kind://docker/kind/116-control-plane", {})]
    report = ingest_objects(ctx, "minikube", objects, AT2)
    assert report.warnings == []
    assert rows(ctx, "SELECT count(*) FROM data_caveats WHERE code = 'pod_on_unknown_node'") == [(0,)]


def test_single_object_dump_is_refused(shared_data, tmp_path):
    with pytest.raises(InputError) as err:
        read_list_dump(shared_data / "kubernetes" / "pod1-raw.json")
    message = str(err.value)
    assert "pod1-raw.json" in message and "a single Pod object, not a List" in message
    assert '"kind": "List"' in message  # says how to fix it
    (tmp_path / "random.json").write_text(json.dumps([1, 2, 3]))
    with pytest.raises(InputError, match="random.json: the JSON is a list, not a Kubernetes List"):
        read_list_dump(tmp_path / "random.json")
    (tmp_path / "broken.json").write_text('{"kind": "List", "items": [')
    with pytest.raises(InputError, match="broken.json: not readable JSON"):
        read_list_dump(tmp_path / "broken.json")


def test_manifests_as_a_list(ctx, shared_data, tmp_path):
    """kube-state-metrics' e2e Deployment manifests, wrapped into a List as `kubectl get` would."""
    manifests = [d for d in yaml.safe_load_all((shared_data / "kubernetes" / "pods.yaml").read_text()) if d]
    (tmp_path / "deployments.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": manifests}))
    objects, files, _ = read_snapshot_dir(tmp_path)
    report = ingest_objects(ctx, "e2e", objects, AT)
    assert report.rows["k8s_objects"] == 2
    assert rows(ctx, "SELECT namespace, kind, name, labels FROM workloads ORDER BY name") == [
        ("default", "Deployment", "pendingpod2", {"app": "pendingpod2"}),
        ("default", "Deployment", "runningpod1", {"app": "runningpod1"}),
    ]


def test_cli_snapshot_folder(tmp_path, shared_data):
    from typer.testing import CliRunner

    from agent.cli import _register, app

    _register()
    folder = tmp_path / "dump"
    folder.mkdir()
    shutil.copy(shared_data / "kubernetes" / "list1-raw.json", folder / "pods.json")
    nodes = {"apiVersion": "v1", "kind": "NodeList",
             "items": [copy.deepcopy(node("116-control-plane", "aws:///us-east-1a/i-0k1", {}))]}
    for item in nodes["items"]:
        del item["kind"]  # a typed list names the kind once
    (folder / "nodes.json").write_text(json.dumps(nodes))
    db = tmp_path / "w.duckdb"
    result = CliRunner().invoke(app, ["ingest", "kubernetes", "--snapshot", str(folder), "--cluster", "kind",
                                      "--at", "2024-05-01T12:00:00", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == (
        "kubernetes (kind): 3 k8s_objects, 1 nodes, 1 namespaces, 2 pods, 2 workloads, 1 clusters")
    assert "warning" not in result.output  # the pods' node is in the same folder
    (folder / "pod1.json").write_text((shared_data / "kubernetes" / "pod1-raw.json").read_text())
    result = CliRunner().invoke(app, ["ingest", "kubernetes", "--snapshot", str(folder), "--cluster", "kind",
                                      "--db", str(db)])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError) and "pod1.json" in str(result.exception)


def test_quantities_use_the_kubernetes_parser():
    from tools.sources.kubernetes_rows import quantity

    obj = {"metadata": {"name": "n1"}}
    assert quantity("Node", obj, "cpu", "500m") == 0.5
    assert quantity("Node", obj, "memory", "2Gi") == 2 * GIB
    assert quantity("Node", obj, "memory", "1e3") == 1000.0
    assert quantity("Node", obj, "memory", "128974848") == 128974848.0
    assert quantity("Node", obj, "cpu", None) is None
    with pytest.raises(InputError, match=r"Node n1: cpu = '2 cores' is not a Kubernetes quantity"):
        quantity("Node", obj, "cpu", "2 cores")


def test_bare_replicaset_is_its_own_workload(ctx):
    objects = {
        "ReplicaSet": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                        "metadata": {"name": "legacy-rs", "namespace": "shop", "labels": {"team": "old"}}}],
        "Pod": [pod("legacy-rs-x7k2p", "shop", "n1", ("ReplicaSet", "legacy-rs")),
                pod("gone-5f6d7c8b9-qwert", "shop", "n1", ("ReplicaSet", "gone-5f6d7c8b9"))],
        "Node": [node("n1", "aws:///us-east-1a/i-1", {})],
    }
    ingest_objects(ctx, "prod", objects, AT)
    assert dict((p, (k, n)) for p, k, n in rows(ctx, "SELECT pod, workload_kind, workload_name FROM pods")) == {
        "legacy-rs-x7k2p": ("ReplicaSet", "legacy-rs"),
        # the ReplicaSet is not in the snapshot: a Deployment, named without the pod-template-hash
        "gone-5f6d7c8b9-qwert": ("Deployment", "gone"),
    }
