"""build_history on a hand-made hourly-series relation (the contract both history paths share):
storage, HPAs, CronJob specs, log volume, GCP nodes, and replacing only the hours and tables
a relation covers."""

from __future__ import annotations

from datetime import datetime, timedelta

import pyarrow as pa
import pytest

from tools.errors import InputError
from tools.sources.history import build_history, read_series

H0, H1 = datetime(2024, 6, 3, 8), datetime(2024, 6, 3, 9)
GIB = 1024**3
SCHEMA = pa.schema([("cluster", pa.string()), ("metric", pa.string()), ("labels", pa.map_(pa.string(), pa.string())),
                    ("hour", pa.timestamp("us")), ("avg", pa.float64()), ("max", pa.float64()),
                    ("min", pa.float64()), ("last", pa.float64()), ("samples", pa.int64())])


def series(metric, labels, hour, value, first=None):
    """One hourly row; ``first`` is the hour's minimum (counters), else the value."""
    low = value if first is None else first
    return {"cluster": "c2", "metric": metric, "labels": labels, "hour": hour, "avg": value, "max": value,
            "min": low, "last": value, "samples": 1}


def both(metric, labels, value):
    return [series(metric, labels, H0, value), series(metric, labels, H1, value)]


POD = {"namespace": "data", "pod": "db-0"}
PV = {"persistentvolume": "pvc-1"}
HPA = {"namespace": "data", "horizontalpodautoscaler": "db-hpa"}
CRON = {"namespace": "ops", "cronjob": "report"}


def relation_rows():
    return [
        *both("kube_pod_info", {**POD, "node": "n1", "created_by_kind": "StatefulSet", "created_by_name": "db"}, 1),
        *both("kube_pod_status_phase", {**POD, "phase": "Running"}, 1),
        *both("kube_pod_container_resource_requests", {**POD, "container": "db", "resource": "cpu"}, 1),
        *both("kube_node_info", {"node": "n1", "provider_id": "gce://proj-x/europe-west1-b/gke-n1"}, 1),
        series("kube_node_labels", {"node": "n1", "label_cloud_google_com_gke_nodepool": "pool-a",
                                    "label_cloud_google_com_gke_spot": "true"}, H0, 1),
        *both("kube_node_status_allocatable", {"node": "n1", "resource": "cpu"}, 4),
        *both("kube_node_status_allocatable", {"node": "n1", "resource": "memory"}, 16 * GIB),
        series("kube_pod_spec_volumes_persistentvolumeclaims_info",
               {**POD, "volume": "data", "persistentvolumeclaim": "data-db-0"}, H0, 1),
        series("kube_persistentvolumeclaim_info", {"namespace": "data", "persistentvolumeclaim": "data-db-0",
                                                   "storageclass": "standard-rwo", "volumename": "pvc-1"}, H0, 1),
        series("kube_persistentvolumeclaim_resource_requests_storage_bytes",
               {"namespace": "data", "persistentvolumeclaim": "data-db-0"}, H0, 10 * GIB),
        series("kube_persistentvolume_info", {**PV, "storageclass": "standard-rwo",
                                              "csi_volume_handle": "projects/proj-x/zones/europe-west1-b/disks/pvc-1"},
               H0, 1),
        series("kube_persistentvolume_claim_ref", {**PV, "name": "data-db-0", "claim_namespace": "data"}, H0, 1),
        series("kube_persistentvolume_status_phase", {**PV, "phase": "Bound"}, H1, 1),
        series("kube_persistentvolume_status_phase", {**PV, "phase": "Released"}, H1, 0),
        series("kube_persistentvolume_capacity_bytes", PV, H0, 10 * GIB),
        series("kubelet_volume_stats_used_bytes", {"namespace": "data", "persistentvolumeclaim": "data-db-0"}, H0, 1e9),
        series("kubelet_volume_stats_used_bytes", {"namespace": "data", "persistentvolumeclaim": "data-db-0"}, H1, 2e9),
        *both("kubelet_volume_stats_capacity_bytes", {"namespace": "data", "persistentvolumeclaim": "data-db-0"},
              10 * GIB),
        *both("kube_statefulset_replicas", {"namespace": "data", "statefulset": "db"}, 1),
        series("kube_statefulset_labels", {"namespace": "data", "statefulset": "db", "label_team": "dba"}, H0, 1),
        series("kube_horizontalpodautoscaler_info", {**HPA, "scaletargetref_kind": "StatefulSet",
                                                     "scaletargetref_name": "db"}, H0, 1),
        series("kube_horizontalpodautoscaler_spec_min_replicas", HPA, H0, 1),
        series("kube_horizontalpodautoscaler_spec_max_replicas", HPA, H0, 3),
        series("kube_horizontalpodautoscaler_status_current_replicas", HPA, H0, 1),
        series("kube_horizontalpodautoscaler_status_current_replicas", HPA, H1, 2),
        series("kube_horizontalpodautoscaler_status_desired_replicas", HPA, H1, 2),
        series("kube_horizontalpodautoscaler_spec_target_metric", {**HPA, "metric_name": "cpu"}, H0, 70),
        series("kube_cronjob_info", {**CRON, "schedule": "* * * * *", "concurrency_policy": "Allow"}, H0, 1),
        series("kube_cronjob_spec_suspend", CRON, H0, 0),
        *both("kube_namespace_labels", {"namespace": "data", "label_team": "dba"}, 1),
        series("kube_namespace_labels", {"namespace": "preview-42"}, H0, 1),
        series("kube_namespace_created", {"namespace": "preview-42"}, H0, 1717000000),
        # Loki: 0 at H0 start, 5000 by H0's end, 12000 by H1's: 5000 then 7000 bytes
        series("loki_distributor_bytes_received_total", {"tenant": "data"}, H0, 5000, first=0),
        series("loki_distributor_bytes_received_total", {"tenant": "data"}, H1, 12000, first=9000),
    ]


def load(ctx, name, rows):
    ctx.db.register(f"{name}_arrow", pa.Table.from_pylist(rows, schema=SCHEMA))
    ctx.db.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    ctx.db.unregister(f"{name}_arrow")


def q(ctx, sql):
    return ctx.db.execute(sql).fetchall()


def test_storage_hpas_specs_and_logs(ctx):
    load(ctx, "rel", relation_rows())
    report = build_history(ctx, "c2", "rel")
    assert q(ctx, "SELECT pv, volume_id, storage_class, capacity_bytes, claim_namespace, claim_name, phase FROM pvs") == [
        ("pvc-1", "projects/proj-x/zones/europe-west1-b/disks/pvc-1", "standard-rwo", 10 * GIB, "data", "data-db-0",
         "Bound")]
    assert q(ctx, "SELECT namespace, pvc, volume_name, storage_class, request_bytes FROM pvcs") == [
        ("data", "data-db-0", "pvc-1", "standard-rwo", 10 * GIB)]
    assert q(ctx, "SELECT namespace, pod, pvc FROM pod_volumes") == [("data", "db-0", "data-db-0")]
    assert q(ctx, "SELECT hour, used_bytes, capacity_bytes FROM volume_hours ORDER BY hour") == [
        (H0, 1e9, 10 * GIB), (H1, 2e9, 10 * GIB)]
    assert q(ctx, "SELECT target_kind, target_name, min_replicas, max_replicas, metric_resources FROM hpas") == [
        ("StatefulSet", "db", 1, 3, ["cpu"])]
    assert set(q(ctx, "SELECT hour, namespace, kind, name, field, value FROM workload_spec_hours")) == {
        (H0, "data", "StatefulSet", "db", "replicas", "1"), (H1, "data", "StatefulSet", "db", "replicas", "1"),
        (H0, "data", "StatefulSet", "db", "hpa_min", "1"), (H0, "data", "StatefulSet", "db", "hpa_max", "3"),
        (H0, "data", "StatefulSet", "db", "hpa_current", "1"), (H1, "data", "StatefulSet", "db", "hpa_current", "2"),
        (H1, "data", "StatefulSet", "db", "hpa_desired", "2"),
        (H0, "ops", "CronJob", "report", "schedule", "* * * * *"),
        (H0, "ops", "CronJob", "report", "concurrency_policy", "Allow"),
        (H0, "ops", "CronJob", "report", "suspend", "false"),
    }
    assert q(ctx, "SELECT hour, namespace, log_bytes FROM namespace_log_hours ORDER BY hour") == [
        (H0, "data", 5000.0), (H1, "data", 7000.0)]
    assert q(ctx, "SELECT namespace, kind, name, labels FROM workloads ORDER BY name") == [
        ("data", "StatefulSet", "db", {"team": "dba"}), ("ops", "CronJob", "report", {})]
    assert q(ctx, "SELECT workload_kind, workload_name, cpu_request, cpu_usage FROM pod_hours") == [
        ("StatefulSet", "db", 1.0, None), ("StatefulSet", "db", 1.0, None)]
    assert q(ctx, "SELECT instance_id, node_pool, capacity_type, zone, region FROM nodes") == [
        ("gke-n1", "pool-a", "spot", "europe-west1-b", "europe-west1")]
    assert q(ctx, "SELECT provider, region, account_id FROM clusters") == [("gcp", "europe-west1", "proj-x")]
    # preview-42 is last reported in H0 while the relation runs to H1: deleted at H0 + 1h
    assert q(ctx, "SELECT namespace, labels, created_at, deleted_at FROM namespaces ORDER BY namespace") == [
        ("data", {"team": "dba"}, None, None), ("ops", {}, None, None),
        ("preview-42", {}, datetime(2024, 5, 29, 16, 26, 40), H1)]
    codes = {r[0] for r in q(ctx, "SELECT code FROM data_caveats WHERE cluster = 'c2' AND source = 'metrics'")}
    assert "no_network_metric" in codes and "no_log_metric" not in codes and "no_dcgm" not in codes
    assert any("network egress per pod unmeasured" in c for c in report.caveats)


def test_only_the_hours_and_tables_covered_are_replaced(ctx):
    load(ctx, "rel", relation_rows())
    build_history(ctx, "c2", "rel")
    pod_hours = q(ctx, "SELECT * FROM pod_hours ORDER BY ALL")
    build_history(ctx, "c2", "rel")
    assert q(ctx, "SELECT * FROM pod_hours ORDER BY ALL") == pod_hours
    assert q(ctx, "SELECT count(*) FROM volume_hours") == [(2,)]
    # A later relation with only the volume stats of H1: volume_hours H1 replaced, H0 and pod_hours kept.
    load(ctx, "rel2", [
        series("kubelet_volume_stats_used_bytes", {"namespace": "data", "persistentvolumeclaim": "data-db-0"}, H1, 3e9),
    ])
    build_history(ctx, "c2", "rel2")
    assert q(ctx, "SELECT hour, used_bytes FROM volume_hours ORDER BY hour") == [(H0, 1e9), (H1, 3e9)]
    assert q(ctx, "SELECT * FROM pod_hours ORDER BY ALL") == pod_hours


HISTORY_TABLES = ("nodes", "owner_edges", "pods", "namespaces", "workloads", "pod_volumes", "pvcs", "pvs", "hpas",
                  "job_runs", "pod_hours", "container_hours", "node_hours", "volume_hours", "namespace_log_hours",
                  "workload_spec_hours", "data_caveats")


def table_rows(ctx, table):
    exclude = " EXCLUDE (recorded_at)" if table == "data_caveats" else ""
    return q(ctx, f"SELECT *{exclude} FROM {table} ORDER BY ALL")


def split(ctx, rows):
    """The relation as the metrics-file fast path hands it over: series apart from their hours,
    plus a series without hours (all its samples NaN) and one of another cluster."""
    keys = list(dict.fromkeys((r["cluster"], r["metric"], tuple(r["labels"].items())) for r in rows))
    ids = {key: n for n, key in enumerate(keys, start=10)}
    series_rows = [{"series": n, "cluster": c, "metric": m, "label_keys": [k for k, _ in labels],
                    "label_values": [v for _, v in labels], "has_hours": True} for (c, m, labels), n in ids.items()]
    series_rows += [{"series": 1, "cluster": "c2", "metric": "kube_pod_info", "label_keys": ["namespace", "pod"],
                     "label_values": ["x", "y"], "has_hours": False},
                    {"series": 2, "cluster": "c9", "metric": "kube_pod_info", "label_keys": ["namespace", "pod"],
                     "label_values": ["x", "z"], "has_hours": True}]
    hour_rows = [{"series": ids[(r["cluster"], r["metric"], tuple(r["labels"].items()))],
                  **{k: r[k] for k in ("hour", "avg", "max", "min", "last", "samples")}} for r in rows]
    hour_rows.append({"series": 2, "hour": H0, "avg": 1.0, "max": 1.0, "min": 1.0, "last": 1.0, "samples": 1})
    ctx.db.register("series_arrow", pa.Table.from_pylist(series_rows, schema=pa.schema(
        [("series", pa.int64()), ("cluster", pa.string()), ("metric", pa.string()),
         ("label_keys", pa.list_(pa.string())), ("label_values", pa.list_(pa.string())),
         ("has_hours", pa.bool_())])))
    ctx.db.register("hours_arrow", pa.Table.from_pylist(hour_rows, schema=pa.schema(
        [("series", pa.int64()), ("hour", pa.timestamp("us")), ("avg", pa.float64()), ("max", pa.float64()),
         ("min", pa.float64()), ("last", pa.float64()), ("samples", pa.int64())])))
    ctx.db.execute("CREATE TEMP TABLE split_series AS SELECT * FROM series_arrow")
    ctx.db.execute("CREATE TEMP TABLE split_hours AS SELECT * FROM hours_arrow")


def tables_of_the_single_relation(ctx) -> dict:
    """The history tables built from the single relation (then emptied for the split one)."""
    load(ctx, "rel", relation_rows())
    build_history(ctx, "c2", "rel")
    single = {table: table_rows(ctx, table) for table in HISTORY_TABLES}
    for table in HISTORY_TABLES:
        ctx.db.execute(f"DELETE FROM {table}")
    return single


def assert_same_tables(ctx, single: dict) -> None:
    for table in HISTORY_TABLES:
        assert table_rows(ctx, table) == single[table], table
    assert q(ctx, "SELECT count(*) FROM pods WHERE pod IN ('y', 'z')") == [(0,)]


def test_split_relation_gives_the_tables_of_the_single_one(ctx):
    single = tables_of_the_single_relation(ctx)
    split(ctx, relation_rows())
    build_history(ctx, "c2", "split_hours", series_relation="split_series")
    assert_same_tables(ctx, single)


def test_series_read_before_the_build_gives_the_same_tables(ctx):
    """read_series reads every cluster's series once (the caller can then drop the label lists);
    the build takes that table for one cluster and leaves it to the caller."""
    single = tables_of_the_single_relation(ctx)
    split(ctx, relation_rows())
    read = read_series(ctx.db, "split_series")
    ctx.db.execute("DROP TABLE split_series")
    # c2's distinct series with hours, and c9's one (the series without hours is left out)
    per_cluster = [("c2", len({(r["metric"], tuple(r["labels"].items())) for r in relation_rows()})), ("c9", 1)]
    assert q(ctx, f"SELECT cluster, count(*) FROM {read} GROUP BY 1 ORDER BY 1") == per_cluster
    # metric and cluster held as ENUMs of the names the series hold
    metrics = sorted({r["metric"] for r in relation_rows()})
    types = dict(q(ctx, f"SELECT column_name, column_type FROM (DESCRIBE {read})"))
    assert types["cluster"] == "ENUM('c2', 'c9')"
    assert types["metric"] == "ENUM(" + ", ".join(f"'{m}'" for m in metrics) + ")"
    build_history(ctx, "c2", "split_hours", series_relation=read)
    assert_same_tables(ctx, single)
    assert q(ctx, f"SELECT cluster, count(*) FROM {read} GROUP BY 1 ORDER BY 1") == per_cluster   # the caller's


def test_another_clusters_hours_do_not_widen_the_hours_replaced(ctx):
    """The hours replaced are this cluster's first to last, not those of every series in the
    relation: another cluster's series two hours earlier leave this cluster's row of that hour."""
    split(ctx, relation_rows())
    early = H0 - timedelta(hours=2)
    ctx.db.execute("INSERT INTO split_hours VALUES (2, ?, 1, 1, 1, 1, 1)", [early])
    ctx.db.execute("""INSERT INTO pod_hours (cluster, hour, namespace, pod, node, workload_kind, workload_name,
                                             fraction, cpu_request, memory_request, gpu_request)
                      VALUES ('c2', ?, 'data', 'db-0', 'n1', 'StatefulSet', 'db', 1, 1, 0, 0)""", [early])
    build_history(ctx, "c2", "split_hours", series_relation="split_series")
    assert q(ctx, "SELECT hour FROM pod_hours WHERE cluster = 'c2' ORDER BY 1") == [(early,), (H0,), (H1,)]


def test_split_relation_missing_a_column_is_named(ctx):
    split(ctx, relation_rows())
    ctx.db.execute("CREATE TEMP TABLE no_labels AS SELECT series, cluster, metric FROM split_series")
    with pytest.raises(InputError, match="no_labels: missing hourly-series column.s. label_keys, label_values"):
        build_history(ctx, "c2", "split_hours", series_relation="no_labels")
