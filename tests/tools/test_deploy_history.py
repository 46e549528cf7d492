"""deploy_history on hand-made ReplicaSets, spec hours, Job runs, lifecycles and events."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from tests.tools.cost_worlds import pod_hour
from tools.deploy_history import DeployHistoryInput, deploy_history

WINDOW = "2026-11-21..2026-11-28"


def replicaset(ctx, name, revision, created, image, requests, env=None):
    raw = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
           "metadata": {"name": name, "namespace": "shop",
                        "annotations": {"deployment.kubernetes.io/revision": str(revision)},
                        "ownerReferences": [{"kind": "Deployment", "name": "api", "controller": True}]},
           "spec": {"template": {"spec": {"containers": [
               {"name": "app", "image": image, "resources": {"requests": requests},
                "env": [{"name": k, "value": v} for k, v in (env or {}).items()]}]}}}}
    ctx.db.execute(
        "INSERT INTO k8s_objects (cluster, kind, namespace, name, created_at, labels, annotations, owner_kind, "
        "owner_name, raw, snapshot_at) VALUES ('gke', 'ReplicaSet', 'shop', ?, ?, MAP {}, "
        "MAP {'deployment.kubernetes.io/revision': ?}, 'Deployment', 'api', ?, '2026-11-28')",
        [name, created, str(revision), json.dumps(raw)],
    )
    ctx.db.execute("INSERT INTO owner_edges VALUES ('gke', 'shop', 'ReplicaSet', ?, 'Deployment', 'api')", [name])


def spec_hours(ctx, kind, name, field, values, start, namespace="shop"):
    for i, value in enumerate(values):
        ctx.db.execute("INSERT INTO workload_spec_hours VALUES ('gke', ?, ?, ?, ?, ?, ?)",
                       [start + timedelta(hours=i), namespace, kind, name, field, value])


@pytest.fixture
def world(ctx):
    pod_hour(ctx, datetime(2026, 11, 10, 0), "shop", "api-1")
    pod_hour(ctx, datetime(2026, 11, 27, 23), "shop", "api-1")
    replicaset(ctx, "api-aaa", 1, datetime(2026, 11, 10, 3), "shop/api:v1", {"cpu": "500m", "memory": "1Gi"})
    replicaset(ctx, "api-bbb", 2, datetime(2026, 11, 23, 9), "shop/api:v2", {"cpu": "1", "memory": "1Gi"},
               env={"WORKERS": "4"})
    replicaset(ctx, "api-ccc", 3, datetime(2026, 11, 25, 14), "shop/api:v2", {"cpu": "1", "memory": "2Gi"})
    # replicas 3 until 2026-11-22 05:00, 6 from 06:00; a change before the window is not listed
    spec_hours(ctx, "Deployment", "api", "replicas", ["2"] + ["3"] * 31 + ["6"] * 5, datetime(2026, 11, 20, 22))
    spec_hours(ctx, "Deployment", "api", "hpa_current", ["3", "4", "5"], datetime(2026, 11, 22, 0))
    spec_hours(ctx, "CronJob", "nightly", "schedule", ["0 2 * * *", "0 2 * * *", "0 */6 * * *"],
               datetime(2026, 11, 24, 0), namespace="ai-evals")
    ctx.db.execute(
        "INSERT INTO job_runs (cluster, namespace, job, cronjob, created_at, parallelism, completions) VALUES "
        "('gke', 'ai-evals', 'nightly-1', 'nightly', '2026-11-20 02:00', 2, 2),"
        "('gke', 'ai-evals', 'nightly-2', 'nightly', '2026-11-22 02:00', 2, 2),"
        "('gke', 'ai-evals', 'nightly-3', 'nightly', '2026-11-23 02:00', 4, 2)"
    )
    ctx.db.execute(
        "INSERT INTO workloads (cluster, namespace, kind, name, created_at, first_seen, last_seen) VALUES "
        "('gke', 'shop', 'Deployment', 'api', '2026-11-01', '2026-11-10', '2026-11-27 23:00'),"
        "('gke', 'ml', 'Deployment', 'trainer', NULL, '2026-11-24 05:00', '2026-11-27 23:00'),"
        "('gke', 'shop', 'Deployment', 'legacy', '2026-10-01', '2026-11-10', '2026-11-26 09:00')"
    )
    ctx.db.execute("INSERT INTO namespaces (cluster, namespace, created_at) VALUES "
                   "('gke', 'ml', '2026-11-24 04:30'), ('gke', 'shop', '2026-10-01')")
    ctx.db.execute(
        "INSERT INTO events (cluster, namespace, involved_kind, involved_name, reason, message, type, first_ts, "
        "last_ts, count, name) VALUES "
        "('gke', 'shop', 'Deployment', 'api', 'ScalingReplicaSet', 'Scaled up replica set api-ccc to 6', "
        "'Normal', '2026-11-22 06:10', '2026-11-22 06:10', 1, 'e1'),"
        "('gke', 'shop', 'ReplicaSet', 'api-ccc', 'SuccessfulCreate', 'Created pod: api-ccc-x', 'Normal', "
        "'2026-11-25 14:01', '2026-11-25 14:05', 3, 'e2'),"
        "('gke', 'shop', 'Pod', 'api-ccc-x', 'Pulled', 'pulled image', 'Normal', "
        "'2026-11-25 14:02', '2026-11-25 14:02', 1, 'e3'),"
        "('gke', 'shop', 'Deployment', 'api', 'ScalingReplicaSet', 'old', 'Normal', "
        "'2026-11-12 06:10', '2026-11-12 06:10', 1, 'e4')"
    )
    return ctx


def table(out):
    return [(c.timestamp, c.namespace, c.kind, c.name, c.field, c.from_value, c.to_value) for c in out.changes]


def test_all_changes_in_window(world):
    out = deploy_history(world, DeployHistoryInput(cluster="gke", window=WINDOW))
    assert out.status == "ok"
    assert table(out) == [
        (datetime(2026, 11, 22, 6), "shop", "Deployment", "api", "replicas", "3", "6"),
        (datetime(2026, 11, 22, 6, 10), "shop", "Deployment", "api", "event:ScalingReplicaSet", None,
         "Scaled up replica set api-ccc to 6"),
        (datetime(2026, 11, 23, 2), "ai-evals", "CronJob", "nightly", "parallelism", "2", "4"),
        (datetime(2026, 11, 23, 9), "shop", "ReplicaSet", "api-bbb", "env[app].WORKERS", None, "4"),
        (datetime(2026, 11, 23, 9), "shop", "ReplicaSet", "api-bbb", "image[app]", "shop/api:v1", "shop/api:v2"),
        (datetime(2026, 11, 23, 9), "shop", "ReplicaSet", "api-bbb", "requests[app].cpu", "500m", "1"),
        (datetime(2026, 11, 23, 9), "shop", "ReplicaSet", "api-bbb", "revision", "1", "2"),
        (datetime(2026, 11, 24, 2), "ai-evals", "CronJob", "nightly", "schedule", "0 2 * * *", "0 */6 * * *"),
        (datetime(2026, 11, 24, 4, 30), "ml", "Namespace", "ml", "created", None, "ml"),
        (datetime(2026, 11, 24, 5), "ml", "Deployment", "trainer", "created", None, "trainer"),
        (datetime(2026, 11, 25, 14), "shop", "ReplicaSet", "api-ccc", "env[app].WORKERS", "4", None),
        (datetime(2026, 11, 25, 14), "shop", "ReplicaSet", "api-ccc", "requests[app].memory", "1Gi", "2Gi"),
        (datetime(2026, 11, 25, 14), "shop", "ReplicaSet", "api-ccc", "revision", "2", "3"),
        (datetime(2026, 11, 25, 14, 5), "shop", "ReplicaSet", "api-ccc", "event:SuccessfulCreate", None,
         "Created pod: api-ccc-x (x3)"),
        (datetime(2026, 11, 26, 10), "shop", "Deployment", "legacy", "deleted", "legacy", None),
    ]
    # every change knows its top controller
    rs = [c for c in out.changes if c.kind == "ReplicaSet"]
    assert {(c.workload_kind, c.workload_name) for c in rs} == {("Deployment", "api")}
    assert out.counts == {"spec_hours": 2, "events": 2, "job_runs": 1, "replicaset": 7, "namespaces": 1,
                          "workloads": 2}
    assert json.loads(out.changes[0].model_dump_json())["from"] == "3"


def test_namespace_filter_and_no_data(world):
    out = deploy_history(world, DeployHistoryInput(cluster="gke", window=WINDOW, namespace="ai-evals",
                                                   include_events=False))
    assert [c.field for c in out.changes] == ["parallelism", "schedule"]
    out = deploy_history(world, DeployHistoryInput(cluster="gke", window=WINDOW, namespace="payments"))
    assert out.status == "no_data" and "payments" in out.reason and out.changes == []
    out = deploy_history(world, DeployHistoryInput(cluster="aks", window=WINDOW))
    assert out.status == "no_data" and "gke" in out.reason


def test_spec_changes_across_gaps_nulls_and_back(ctx):
    pod_hour(ctx, datetime(2026, 11, 27, 23), "shop", "api-1")
    day = datetime(2026, 11, 22)
    # 1 before the window, then 2 every hour inside it: the change is inside, its old value outside
    spec_hours(ctx, "Deployment", "a", "replicas", ["1"], datetime(2026, 11, 19, 10))
    spec_hours(ctx, "Deployment", "a", "replicas", ["2"] * 30, day)
    # 5 throughout: never listed; 7 changed to 8 before the window only: not listed either
    spec_hours(ctx, "Deployment", "b", "replicas", ["5"] * 200, datetime(2026, 11, 18))
    spec_hours(ctx, "Deployment", "c", "replicas", ["7", "8"] + ["8"] * 40, datetime(2026, 11, 19))
    # there and back inside the window, and a value going NULL and back
    spec_hours(ctx, "Deployment", "d", "replicas", ["3", "4", "3"], day)
    spec_hours(ctx, "CronJob", "e", "schedule", ["0 1 * * *", None, "0 1 * * *"], day)
    spec_hours(ctx, "CronJob", "f", "schedule", [None, None], day)
    # NULL in the last hour before the window, after a value: the old value is that NULL
    spec_hours(ctx, "CronJob", "g", "schedule", ["0 2 * * *", None], datetime(2026, 11, 20, 22))
    spec_hours(ctx, "CronJob", "g", "schedule", ["0 2 * * *"], datetime(2026, 11, 21, 5))
    # a value before the window, NULL throughout it
    spec_hours(ctx, "Deployment", "h", "replicas", ["1"], datetime(2026, 11, 20, 23))
    spec_hours(ctx, "Deployment", "h", "replicas", [None, None], datetime(2026, 11, 21))
    out = deploy_history(ctx, DeployHistoryInput(cluster="gke", window=WINDOW, include_events=False))
    assert table(out) == [
        (datetime(2026, 11, 21), "shop", "Deployment", "h", "replicas", "1", None),
        (datetime(2026, 11, 21, 5), "shop", "CronJob", "g", "schedule", None, "0 2 * * *"),
        (day, "shop", "Deployment", "a", "replicas", "1", "2"),
        (day + timedelta(hours=1), "shop", "CronJob", "e", "schedule", "0 1 * * *", None),
        (day + timedelta(hours=1), "shop", "Deployment", "d", "replicas", "3", "4"),
        (day + timedelta(hours=2), "shop", "CronJob", "e", "schedule", None, "0 1 * * *"),
        (day + timedelta(hours=2), "shop", "Deployment", "d", "replicas", "4", "3"),
    ]


def test_a_steady_cronjob_against_a_job_known_only_from_its_spec_hours(ctx):
    pod_hour(ctx, datetime(2026, 11, 27, 23), "shop", "api-1")
    ctx.db.execute(
        "INSERT INTO job_runs (cluster, namespace, job, cronjob, created_at, parallelism, completions) VALUES "
        "('gke', 'batch', 'hourly-1', 'hourly', '2026-11-22 01:00', 2, 1),"
        "('gke', 'batch', 'hourly-2', 'hourly', '2026-11-22 02:00', 2, 1),"
        "('gke', 'quiet', 'daily-1', 'daily', '2026-11-22 01:00', 3, 1),"
        "('gke', 'quiet', 'daily-2', 'daily', '2026-11-23 01:00', 3, 1)"
    )
    # hourly-3 has no run row: its spec hours and owner edge put it in the CronJob's group
    spec_hours(ctx, "Job", "hourly-3", "parallelism", ["5"], datetime(2026, 11, 22, 3), namespace="batch")
    ctx.db.execute("INSERT INTO owner_edges VALUES ('gke', 'batch', 'Job', 'hourly-3', 'CronJob', 'hourly')")
    out = deploy_history(ctx, DeployHistoryInput(cluster="gke", window=WINDOW, include_events=False))
    assert table(out) == [(datetime(2026, 11, 22, 3), "batch", "CronJob", "hourly", "parallelism", "2", "5")]


def test_a_job_without_an_owner_edge_belongs_to_the_workload_of_its_pods(ctx):
    pod_hour(ctx, datetime(2026, 11, 27, 23), "shop", "api-1")
    for pod, job, workload in (("eval-7f3a-x", "eval-7f3a", "eval-harness"), ("sync-1-x", "sync-1", "sync-1")):
        ctx.db.execute("INSERT INTO pods (cluster, namespace, pod, owner_kind, owner_name, workload_kind, "
                       "workload_name) VALUES ('gke', 'ai', ?, 'Job', ?, 'Job', ?)", [pod, job, workload])
        spec_hours(ctx, "Job", job, "parallelism", ["2", "4"], datetime(2026, 11, 22), namespace="ai")
    # sync-1's edge names its CronJob, whatever its pods were grouped into
    ctx.db.execute("INSERT INTO owner_edges VALUES ('gke', 'ai', 'Job', 'sync-1', 'CronJob', 'sync')")
    out = deploy_history(ctx, DeployHistoryInput(cluster="gke", window=WINDOW, include_events=False))
    assert [(c.name, c.workload_kind, c.workload_name) for c in out.changes if c.field == "parallelism"] == [
        ("eval-7f3a", "Job", "eval-harness"), ("sync-1", "CronJob", "sync")]
