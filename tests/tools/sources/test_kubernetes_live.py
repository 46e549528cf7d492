"""The live Kubernetes ingest: the real ``kubernetes`` client against a test API server over HTTP."""

from __future__ import annotations

import copy
import json
import socket
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.tools.sources.k8s_api_server import ApiBehaviour, FakeKubernetesApi, write_kubeconfig
from tools.errors import ConfigError, SourceError
from tools.sources.kubernetes_kinds import KINDS, RBAC_VERBS, list_path
from tools.sources.kubernetes_live import cluster_name_from_kubeconfig, fetch_objects, ingest_live_cluster

REPO = Path(__file__).resolve().parents[3]
FAST = {"attempts": 2, "backoff": 0.01, "timeout": 5.0}


def _node(name: str, instance: str) -> dict:
    return {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}", "creationTimestamp": "2026-11-01T00:00:00Z",
                     "labels": {"node.kubernetes.io/instance-type": "m5.large",
                                "eks.amazonaws.com/nodegroup": "general",
                                "topology.kubernetes.io/zone": "eu-west-1a"}},
        "spec": {"providerID": f"aws:///eu-west-1a/{instance}"},
        "status": {"allocatable": {"cpu": "1930m", "memory": "7220184Ki", "pods": "29"}},
    }


@pytest.fixture
def cluster_objects(shared_data) -> dict[str, list[dict]]:
    """Real JSON per list path: kubectl-neat's Pods, kube-state-metrics' Deployments, plus nodes."""
    pods = json.loads((shared_data / "kubernetes" / "list1-raw.json").read_text())["items"]
    pod1 = json.loads((shared_data / "kubernetes" / "pod1-raw.json").read_text())
    deployments = [d for d in yaml.safe_load_all((shared_data / "kubernetes" / "pods.yaml").read_text())
                   if d and d.get("kind") == "Deployment"]
    # The API server omits kind/apiVersion on list items; serve them as it does.
    served_pods = []
    for pod in pods + [pod1]:
        pod = copy.deepcopy(pod)
        pod.pop("kind", None)
        pod.pop("apiVersion", None)
        served_pods.append(pod)
    node_names = sorted({p["spec"].get("nodeName") for p in served_pods if p["spec"].get("nodeName")})
    objects = {list_path(k): [] for k in KINDS}
    objects["/api/v1/pods"] = served_pods
    objects["/apis/apps/v1/deployments"] = deployments
    objects["/api/v1/nodes"] = [_node(n, f"i-0{i}abc") for i, n in enumerate(node_names)]
    namespaces = sorted({o["metadata"].get("namespace", "default") for o in served_pods + deployments})
    objects["/api/v1/namespaces"] = [{"metadata": {"name": ns, "uid": f"ns-{ns}"}} for ns in namespaces]
    return objects


def _counts(ctx) -> dict[str, int]:
    tables = [r[0] for r in ctx.db.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1").fetchall()]
    return {t: ctx.db.execute(f'SELECT count(*) FROM "{t}"').fetchall()[0][0] for t in tables}


def _stored_per_kind(ctx, cluster: str) -> dict[str, int]:
    rows = ctx.db.execute("SELECT kind, count(*) FROM k8s_objects WHERE cluster = ? GROUP BY kind",
                          [cluster]).fetchall()
    return dict(rows)


def _expected_per_kind(objects: dict[str, list[dict]]) -> dict[str, int]:
    by_path = {list_path(k): k.kind for k in KINDS}
    return {by_path[p]: len(items) for p, items in objects.items() if items}


def test_rbac_manifest_grants_exactly_the_kinds_read():
    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "rbac.yaml").read_text()) if d]
    assert {d["kind"] for d in docs} == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    granted = set()
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, "no resourceNames, nonResourceURLs or extras"
        assert sorted(rule["verbs"]) == sorted(RBAC_VERBS) == ["get", "list", "watch"]
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                assert "*" not in (group, resource)
                granted.add((group, resource))
    assert granted == {(k.group, k.resource) for k in KINDS}
    assert not any("secret" in resource for _, resource in granted)
    binding = next(d for d in docs if d["kind"] == "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_cluster_name_from_kubeconfig_entries():
    assert cluster_name_from_kubeconfig("arn:aws:eks:eu-west-1:123456789012:cluster/prod") == "prod"
    assert cluster_name_from_kubeconfig("gke_my-project_europe-west1-b_shop") == "shop"
    assert cluster_name_from_kubeconfig("aks-west") == "aks-west"


def test_live_ingest_pages_through_every_kind_and_never_asks_for_secrets(ctx, tmp_path, cluster_objects):
    with FakeKubernetesApi(cluster_objects) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        report = ingest_live_cluster(ctx, kubeconfig, None, None, page_size=1, **FAST)
        requests = list(api.requests)

    assert report.cluster == "live-test"          # from the EKS ARN in the kubeconfig
    assert _stored_per_kind(ctx, "live-test") == _expected_per_kind(cluster_objects)
    # every kind listed at cluster scope, and with limit=1 one request per object (+1 for an empty list)
    for kind in KINDS:
        path = list_path(kind)
        asked = [r for r in requests if r.split("?")[0] == path]
        assert len(asked) == max(1, len(cluster_objects[path])), path
        assert all("limit=1" in r for r in asked)
    assert sum("continue=" in r for r in requests) == sum(max(0, len(v) - 1) for v in cluster_objects.values())
    assert not any("secret" in r.lower() for r in requests)
    pods = ctx.db.execute("SELECT namespace, pod FROM pods WHERE cluster = 'live-test' ORDER BY 1, 2").fetchall()
    assert pods == sorted((p["metadata"].get("namespace", "default"), p["metadata"]["name"])
                          for p in cluster_objects["/api/v1/pods"])
    stored = ctx.db.execute(
        "SELECT raw->>'kind', raw->>'apiVersion' FROM k8s_objects WHERE kind = 'Deployment' LIMIT 1").fetchall()[0]
    assert stored == ("Deployment", "apps/v1")
    nodes = ctx.db.execute("SELECT node, instance_id, node_pool FROM nodes ORDER BY 1").fetchall()
    assert [n[1] for n in nodes] == [f"i-0{i}abc" for i in range(len(nodes))]
    assert {n[2] for n in nodes} == {"general"}


def test_second_run_updates_without_duplicates(ctx, tmp_path, cluster_objects):
    with FakeKubernetesApi(cluster_objects) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        ingest_live_cluster(ctx, kubeconfig, "test-ctx", "shop", page_size=2, **FAST)
        first = _counts(ctx)
        # the cluster changes between reads: one pod gone, one label changed
        gone = cluster_objects["/api/v1/pods"].pop()
        cluster_objects["/apis/apps/v1/deployments"][0]["metadata"]["labels"]["team"] = "payments"
        ingest_live_cluster(ctx, kubeconfig, "test-ctx", "shop", page_size=2, **FAST)
        second = _counts(ctx)

    keys = {"k8s_objects": "cluster, kind, namespace, name", "pods": "cluster, namespace, pod",
            "nodes": "cluster, node", "namespaces": "cluster, namespace",
            "workloads": "cluster, namespace, kind, name"}
    for table, key in keys.items():
        total, distinct = ctx.db.execute(f"SELECT count(*), count(DISTINCT ({key})) FROM {table}").fetchall()[0]
        assert total == distinct, table
    assert second["k8s_objects"] == first["k8s_objects"] - 1
    assert second["pods"] == first["pods"]                  # pods keep history: still one row each
    assert second["nodes"] == first["nodes"] and second["namespaces"] == first["namespaces"]
    assert ctx.db.execute("SELECT count(*) FROM k8s_objects WHERE kind = 'Pod' AND name = ?",
                          [gone["metadata"]["name"]]).fetchall()[0][0] == 0
    team = ctx.db.execute(
        "SELECT labels['team'] FROM k8s_objects WHERE kind = 'Deployment' AND name = ?",
        [cluster_objects["/apis/apps/v1/deployments"][0]["metadata"]["name"]]).fetchall()[0][0]
    assert team == "payments"


def test_forbidden_kind_is_named_and_the_rest_is_read(ctx, tmp_path, cluster_objects):
    cluster_objects["/apis/batch/v1/cronjobs"] = [{"metadata": {"name": "nightly", "namespace": "default"}}]
    behaviour = ApiBehaviour(forbidden={"/apis/batch/v1/cronjobs"})
    with FakeKubernetesApi(cluster_objects, behaviour) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        report = ingest_live_cluster(ctx, kubeconfig, None, "shop", **FAST)

    rbac = [c for c in report.caveats if c.startswith("missing RBAC")]
    assert len(rbac) == 1
    assert "list cronjobs.batch (cluster scope)" in rbac[0] and "deploy/rbac.yaml" in rbac[0]
    stored = _stored_per_kind(ctx, "shop")
    assert "CronJob" not in stored
    expected = _expected_per_kind(cluster_objects)
    expected.pop("CronJob")
    assert stored == expected
    codes = [r[0] for r in ctx.db.execute(
        "SELECT code FROM data_caveats WHERE cluster = 'shop' AND source = 'kubernetes'").fetchall()]
    assert "rbac_forbidden:cronjobs.batch" in codes

    # granted later: the next read stores CronJobs and clears the caveat
    with FakeKubernetesApi(cluster_objects) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        report = ingest_live_cluster(ctx, kubeconfig, None, "shop", **FAST)
    assert not [c for c in report.caveats if c.startswith("missing RBAC")]
    assert _stored_per_kind(ctx, "shop")["CronJob"] == 1
    assert ctx.db.execute("SELECT count(*) FROM data_caveats WHERE code LIKE 'rbac_forbidden:%'").fetchall()[0][0] == 0


def test_not_served_kind_is_a_caveat(ctx, tmp_path, cluster_objects):
    behaviour = ApiBehaviour(not_found={"/apis/autoscaling/v2/horizontalpodautoscalers"})
    with FakeKubernetesApi(cluster_objects, behaviour) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        report = ingest_live_cluster(ctx, kubeconfig, None, "shop", **FAST)
    assert any("does not serve horizontalpodautoscalers in autoscaling/v2" in c for c in report.caveats)
    assert _stored_per_kind(ctx, "shop") == _expected_per_kind(cluster_objects)


def test_expired_continue_token_restarts_the_list_once(tmp_path, cluster_objects):
    pods = cluster_objects["/api/v1/pods"]
    assert len(pods) == 3
    with FakeKubernetesApi(cluster_objects, ApiBehaviour(expire_continue={"/api/v1/pods": 1})) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        snapshot = fetch_objects(kubeconfig, None, page_size=2, **FAST)
        pod_requests = [r for r in api.requests if r.startswith("/api/v1/pods")]
    assert not snapshot.caveats
    assert sorted(p["metadata"]["name"] for p in snapshot.objects_by_kind["Pod"]) == \
        sorted(p["metadata"]["name"] for p in pods)            # no duplicates from the first attempt
    # first page, 410 on the continue, then the full list again: 2 pages
    assert [("continue=" in r) for r in pod_requests] == [False, True, False, True]

    with FakeKubernetesApi(cluster_objects, ApiBehaviour(expire_continue={"/api/v1/pods": 2})) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        snapshot = fetch_objects(kubeconfig, None, page_size=2, **FAST)
    assert "Pod" not in snapshot.objects_by_kind
    assert [c.code for c in snapshot.caveats] == ["expired_continue:pods"]
    assert "410" in snapshot.caveats[0].message
    assert len(snapshot.objects_by_kind["Deployment"]) == len(cluster_objects["/apis/apps/v1/deployments"])


def test_expired_token_is_a_clear_error_and_the_warehouse_is_unchanged(ctx, tmp_path, cluster_objects):
    with FakeKubernetesApi(cluster_objects) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        ingest_live_cluster(ctx, kubeconfig, None, "shop", **FAST)
        before = _counts(ctx)
        cluster_objects["/api/v1/pods"].pop()
        expired = write_kubeconfig(tmp_path / "expired", api.url, "expired-token", context="prod-admin")
        with pytest.raises(ConfigError) as err:
            ingest_live_cluster(ctx, expired, None, "shop", **FAST)
    message = str(err.value)
    assert "401" in message and "'prod-admin'" in message and "expired or invalid" in message
    assert "aws eks update-kubeconfig" in message
    assert _counts(ctx) == before


def test_kubeconfig_pointing_nowhere(ctx, tmp_path):
    before = _counts(ctx)
    with pytest.raises(ConfigError, match="does not exist"):
        ingest_live_cluster(ctx, tmp_path / "missing-kubeconfig", None, "shop", **FAST)

    with socket.socket() as s:                  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{port}", "good-token")
    with pytest.raises(SourceError) as err:
        ingest_live_cluster(ctx, kubeconfig, None, "shop", **FAST)
    message = str(err.value)
    assert f"127.0.0.1:{port}" in message and "'test-ctx'" in message and "after 2 attempts" in message

    with pytest.raises(ConfigError) as err:
        ingest_live_cluster(ctx, kubeconfig, "no-such-context", "shop", **FAST)
    assert "no-such-context" in str(err.value) and "test-ctx" in str(err.value)
    assert _counts(ctx) == before


def test_timeouts_and_503_are_retried_then_reported(ctx, tmp_path, cluster_objects):
    behaviour = ApiBehaviour(unavailable={"/api/v1/nodes": 1})
    with FakeKubernetesApi(cluster_objects, behaviour) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        snapshot = fetch_objects(kubeconfig, None, **FAST)
        assert len(snapshot.objects_by_kind["Node"]) == len(cluster_objects["/api/v1/nodes"])
        assert [r for r in api.requests if r.startswith("/api/v1/nodes")] == ["/api/v1/nodes?limit=500"] * 2

    before = _counts(ctx)
    with FakeKubernetesApi(cluster_objects, ApiBehaviour(slow={"/api/v1/pods": 1.0})) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        with pytest.raises(SourceError) as err:
            ingest_live_cluster(ctx, kubeconfig, None, "shop", attempts=2, backoff=0.01, timeout=0.3)
    assert "timed out" in str(err.value) and "/api/v1/pods" in str(err.value)
    assert _counts(ctx) == before


def test_cli_live_mode(tmp_path, cluster_objects):
    from agent.cli import _register, app

    _register()
    db = tmp_path / "cli.duckdb"
    with FakeKubernetesApi(cluster_objects, ApiBehaviour(forbidden={"/api/v1/events"})) as api:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", api.url, "good-token")
        result = CliRunner().invoke(app, ["ingest", "kubernetes", "--kubeconfig", str(kubeconfig), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "kubernetes (live-test):" in result.output
    assert "missing RBAC: list events (cluster scope)" in result.output

    result = CliRunner().invoke(app, ["ingest", "kubernetes", "--snapshot", str(tmp_path), "--context", "x",
                                      "--cluster", "c", "--db", str(db)])
    assert result.exit_code != 0
